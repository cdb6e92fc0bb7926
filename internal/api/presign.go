package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/presignd/presignd/internal/auditlog"
	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// DefaultExpiresIn is the lifetime asked for when a request names none.
const DefaultExpiresIn = 3600

type presignRequest struct {
	Bucket                     exactString       `json:"bucket"`
	Key                        exactString       `json:"key"`
	Method                     string            `json:"method"`
	ExpiresIn                  *int64            `json:"expires_in"`
	StrictTTL                  bool              `json:"strict_ttl"`
	VersionID                  string            `json:"version_id"`
	ContentType                string            `json:"content_type"`
	ContentLength              *int64            `json:"content_length"`
	ChecksumSHA256             string            `json:"checksum_sha256"`
	Metadata                   map[string]string `json:"metadata"`
	ResponseContentDisposition string            `json:"response_content_disposition"`
	ResponseContentType        string            `json:"response_content_type"`
	ResponseCacheControl       string            `json:"response_cache_control"`
	DownloadFilename           string            `json:"download_filename"`
}

type presignResponse struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	Headers   map[string]string `json:"headers"`
	CappedBy  string            `json:"capped_by,omitempty"`
}

func (s *Server) decideAndSign(ctx context.Context, c *caller, req *presignRequest, entry *auditEntry) (presignResponse, error) {
	preq, sreq, err := req.toRequests()
	if err != nil {
		return presignResponse{}, err
	}
	entry.method, entry.requestedTTL = preq.Method, preq.TTL

	st := s.state.Load()
	d, creds, err := s.decide(ctx, st, c, preq, entry)
	if err != nil {
		return presignResponse{}, err
	}
	sreq.Expires = time.Duration(d.TTL) * time.Second
	sreq.Credentials = creds
	p, err := st.signer.Presign(ctx, sreq)
	if err != nil {
		return presignResponse{}, err
	}
	return presignResponse{
		URL:       p.URL,
		Method:    p.Method,
		ExpiresAt: p.ExpiresAt(),
		ExpiresIn: d.TTL,
		Headers:   p.Headers,
		CappedBy:  string(d.CappedBy),
	}, nil
}

// decideFresh runs the policy against the signing credentials, which the signer
// refreshes once when they are what caps the lifetime, and returns the credentials to
// sign with. When no credentials can be had, the error is credentials_unavailable.
func (s *Server) decideFresh(ctx context.Context, st *state, client string, preq policy.Request) (policy.Decision, signer.Credentials, error) {
	var attrs policy.Attributes // a map of the claims, made only for the clients that read it
	if st.policy.Templated(client) {
		attrs = principalFrom(ctx).Attributes()
	}
	// Most decisions are not limited by the credentials: one snapshot, one decision,
	// and no closure for the signer to call (its captures would be on the heap).
	if creds, cerr := st.signer.Credentials(ctx); cerr == nil {
		d, err := st.policy.Decide(client, preq, policy.Env{Now: s.now(), CredentialsExpire: creds.CanExpire, CredentialsExpiry: creds.Expires, Caller: attrs})
		if !credentialsLimited(d, err) {
			s.metrics.credentialsExpiry(creds)
			return d, creds, err
		}
	}
	// The credentials limit the answer, or cannot be had: the signer refreshes them
	// (at most once per its interval) and the decision is taken again.
	var (
		d   policy.Decision
		err error
	)
	creds, cerr := st.signer.Decide(ctx, func(expires bool, expiry time.Time) bool {
		d, err = st.policy.Decide(client, preq, policy.Env{Now: s.now(), CredentialsExpire: expires, CredentialsExpiry: expiry, Caller: attrs})
		return credentialsLimited(d, err)
	})
	if cerr != nil {
		return policy.Decision{}, creds, &Error{Code: CodeCredentialsUnavailable,
			Detail: "no usable signing credentials; try again shortly", Cause: cerr}
	}
	s.metrics.credentialsExpiry(creds)
	return d, creds, err
}

// decide is decideFresh for a request that will be signed: it records the outcome
// for the audit line and the cap metric.
func (s *Server) decide(ctx context.Context, st *state, c *caller, preq policy.Request, entry *auditEntry) (policy.Decision, signer.Credentials, error) {
	d, creds, err := s.decideFresh(ctx, st, c.name, preq)
	entry.cappedBy = d.CappedBy
	if err == nil {
		if entry.requestedTTL > 0 { // else the operation signs no URL: it has no lifetime
			entry.expiresIn = d.TTL
		}
		if d.CappedBy != policy.CapNone {
			s.metrics.ttlCapped.WithLabelValues(string(d.CappedBy)).Inc()
		}
	}
	return d, creds, err
}

// credentialsLimited reports whether the signing credentials' expiry shaped a
// decision: they capped its lifetime, or are too close to expiry to sign at all.
func credentialsLimited(d policy.Decision, err error) bool {
	return d.CappedBy == policy.CapCredentials || err != nil && isCredentialsError(err)
}

func isCredentialsError(err error) bool {
	var ce *policy.CredentialsError
	return errors.As(err, &ce)
}

// lossyText is the problem of a request whose key (or a field the key is made of) or
// bucket held bytes or escapes that are not UTF-8, or nil when neither did.
func lossyText(key, bucket bool) error {
	switch {
	case key:
		return &policy.InvalidError{Field: policy.FieldKey, Detail: "key is not valid UTF-8 (it holds bytes or escapes that are not UTF-8)"}
	case bucket:
		return &policy.InvalidError{Field: policy.FieldBucket, Detail: "bucket is not valid UTF-8"}
	}
	return nil
}

func (req *presignRequest) checkText() error { return lossyText(req.Key.Lossy, req.Bucket.Lossy) }

// toRequests checks the fields that depend on each other and builds the policy and
// signer requests.
func (req *presignRequest) toRequests() (policy.Request, signer.Request, error) {
	var none policy.Request
	switch {
	case !req.Bucket.Set:
		return none, signer.Request{}, requiredErr("bucket")
	case !req.Key.Set:
		return none, signer.Request{}, requiredErr("key")
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = policy.MethodGet
	}
	ttl := int64(DefaultExpiresIn)
	if req.ExpiresIn != nil {
		ttl = *req.ExpiresIn
	}
	pr := policy.Request{
		Bucket: req.Bucket.Value, Key: req.Key.Value, Method: method, TTL: ttl,
		StrictTTL: req.StrictTTL, ContentType: req.ContentType, ContentLength: -1,
	}
	if err := policy.ValidateRequest(pr); err != nil {
		return none, signer.Request{}, err
	}
	if err := req.checkFieldsFor(method); err != nil {
		return none, signer.Request{}, err
	}
	sr := signer.Request{
		Bucket: pr.Bucket, Key: pr.Key, Method: method, ContentLength: -1,
		VersionID:                  req.VersionID,
		ContentType:                req.ContentType,
		ChecksumSHA256:             req.ChecksumSHA256,
		ResponseContentDisposition: req.ResponseContentDisposition,
		ResponseContentType:        req.ResponseContentType,
		ResponseCacheControl:       req.ResponseCacheControl,
	}
	if err := req.signedValues(&sr); err != nil {
		return none, signer.Request{}, err
	}
	pr.ContentLength = sr.ContentLength
	return pr, sr, nil
}

// checkFieldsFor refuses fields that do not apply to the method and values that
// cannot travel as a header or query value.
func (req *presignRequest) checkFieldsFor(method string) error {
	isPut := method == policy.MethodPut
	isRead := method == policy.MethodGet || method == policy.MethodHead
	for _, f := range []struct {
		name    string
		set     bool
		allowed bool
		methods string
	}{
		{"version_id", req.VersionID != "", !isPut, "GET, HEAD and DELETE"},
		{"content_type", req.ContentType != "", isPut, "PUT"},
		{"content_length", req.ContentLength != nil, isPut, "PUT"},
		{"checksum_sha256", req.ChecksumSHA256 != "", isPut, "PUT"},
		{"metadata", len(req.Metadata) > 0, isPut, "PUT"},
		{"response_content_disposition", req.ResponseContentDisposition != "", isRead, "GET and HEAD"},
		{"response_content_type", req.ResponseContentType != "", isRead, "GET and HEAD"},
		{"response_cache_control", req.ResponseCacheControl != "", isRead, "GET and HEAD"},
		{"download_filename", req.DownloadFilename != "", isRead, "GET and HEAD"},
	} {
		if f.set && !f.allowed {
			return fieldErr(f.name, "applies only to %s", f.methods)
		}
	}
	for _, f := range [...]struct{ name, value string }{
		{"version_id", req.VersionID},
		{"content_type", req.ContentType},
		{"response_content_disposition", req.ResponseContentDisposition},
		{"response_content_type", req.ResponseContentType},
		{"response_cache_control", req.ResponseCacheControl},
	} {
		if !headerSafe(f.value) {
			return fieldErr(f.name, "must be printable ASCII of at most 1024 characters")
		}
	}
	if req.ResponseContentType != "" {
		// S3 answers the GET with this type: it must be one media type as much as an upload's.
		if _, err := policy.ParseContentType(req.ResponseContentType); err != nil {
			return fieldErr("response_content_type", "%s", err)
		}
	}
	return nil
}

// signedValues checks the values that become signed headers or query values and
// sets them on sr: the size, checksum, metadata and download disposition.
func (req *presignRequest) signedValues(sr *signer.Request) error {
	if req.ContentLength != nil {
		// A length of 0 is never signed (S3 clients send no Content-Length, and no
		// Content-Type, for an empty body), so such a URL would bind no size at all.
		if *req.ContentLength < 1 || *req.ContentLength > signer.MaxObjectSize {
			return fieldErr("content_length", "must be between 1 byte and 5 TiB (leave it out for an empty object)")
		}
		sr.ContentLength = *req.ContentLength
	}
	if req.ChecksumSHA256 != "" {
		// Exactly 44 characters: the decoder would skip line breaks that the header cannot carry.
		if b, err := base64.StdEncoding.DecodeString(req.ChecksumSHA256); err != nil || len(b) != 32 || len(req.ChecksumSHA256) != 44 {
			return fieldErr("checksum_sha256", "must be the base64 of a 32-byte SHA-256 digest")
		}
	}
	if len(req.Metadata) > 0 {
		md, err := checkMetadata(req.Metadata)
		if err != nil {
			return err
		}
		sr.Metadata = md
	}
	if req.DownloadFilename != "" {
		if req.ResponseContentDisposition != "" {
			return fieldErr("download_filename", "cannot be combined with response_content_disposition")
		}
		cd, err := signer.AttachmentDisposition(req.DownloadFilename)
		if err != nil {
			return fieldErr("download_filename", "%s", err)
		}
		sr.ResponseContentDisposition = cd
	}
	return nil
}

// checkMetadata validates x-amz-meta-* names and values and lowercases the names, as
// S3 stores them.
func checkMetadata(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	size := 0
	for k, v := range in {
		if k == "" || !isToken(k) {
			return nil, fieldErr("metadata", "name %q must be letters, digits and '-' or '_'", clipString(k))
		}
		if !headerSafe(v) {
			return nil, fieldErr("metadata", "value of %q must be printable ASCII", clipString(k))
		}
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, fieldErr("metadata", "name %q is given twice (names are not case-sensitive)", clipString(k))
		}
		out[lk] = v
		size += len(k) + len(v)
	}
	if size > signer.MaxMetadataBytes {
		return nil, fieldErr("metadata", "is %d bytes, above S3's limit of %d", size, signer.MaxMetadataBytes)
	}
	return out, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// headerSafe reports whether v can travel as an HTTP header or query value unchanged.
func headerSafe(v string) bool {
	if len(v) > 1024 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

func clipString(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// The request hot path decodes and encodes the JSON of POST /v1/presign and of batch
// items itself when that is simple, and leaves everything else to encoding/json:
//
//   - A body of the common shape (an object whose fields each appear once, by their
//     exact names, with strings of printable ASCII and no escapes, plain integers,
//     and booleans) is parsed directly. Such a body decodes to the same request through
//     decodeBytes; any other body, every error included, goes through decodeBytes.
//   - Responses are written by appending to a pooled buffer, byte for byte what
//     encode (encoding/json without HTML escaping) writes; strings that need escaping
//     are escaped by encoding/json.

// readBody appends a request body of at most limit bytes to dst, with the errors
// decode gives.
func readBody(dst []byte, w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 512)
		}
		n, err := body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		switch {
		case err == io.EOF:
			return dst, nil
		case err != nil:
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errorf(CodePayloadTooLarge, "the request body is larger than %d bytes", limit)
			}
			return nil, errorf(CodeInvalidRequest, "the request body could not be read")
		}
	}
}

// flatDecode decodes a request body as decode does: the common shape with parseFlat,
// field saying where each value goes (decodeFlat).
func flatDecode[Req any](field func(name string, req *Req) flatField) func(http.ResponseWriter, *http.Request, *Req) error {
	return func(w http.ResponseWriter, r *http.Request, req *Req) error {
		return readAndDecode(w, r, func(body []byte) error { return decodeFlat(body, req, field) })
	}
}

// readAndDecode reads a request body of at most maxBody bytes into a pooled buffer
// and decodes it with decode, which must keep none of its bytes.
func readAndDecode(w http.ResponseWriter, r *http.Request, decode func(body []byte) error) error {
	buf := getBuffer()
	defer putBuffer(buf)
	body, err := readBody(buf.b, w, r, maxBody)
	if err != nil {
		return err
	}
	buf.b = body
	return decode(body)
}

// decodePresignBytes decodes one presign request as decodeBytes does.
func decodePresignBytes(body []byte, req *presignRequest) error {
	return decodeFlat(body, req, presignField)
}

// decodeFlat decodes a request body as decodeBytes does: the common shape with
// parseFlat, where field says where each value goes, anything else with decodeBytes.
func decodeFlat[Req any](body []byte, req *Req, field func(name string, req *Req) flatField) error {
	if parseFlat(string(body), func(name string) flatField { return field(name, req) }) {
		return nil
	}
	// A request of its own, so that req does not escape to the heap when the common
	// shape is parsed.
	slow := new(Req)
	err := decodeBytes(body, slow)
	*req = *slow
	return err
}

// Bits of the fields of a presign request parseFlat has seen.
const (
	seenBucket = 1 << iota
	seenKey
	seenMethod
	seenExpiresIn
	seenStrictTTL
	seenVersionID
	seenContentType
	seenContentLength
	seenChecksum
	seenDisposition
	seenResponseType
	seenCacheControl
	seenFilename
)

// The direct parser (parseFlat) of the presign, POST policy and part URLs bodies.
//
// This scanner and appendPresignResponse exist for speed, and are held to
// encoding/json's answers by FuzzPresignSpellings and TestPresignAnswerIsEncodingJSON.
// Measured with make loadtest (GET presign, wrk -t2 -c64, ratio to the fixed-JSON
// server in the same run, two runs each): hand-written 0.59x and 0.58x;
// go-json-experiment/json for both 0.53x and 0.53x; encoding/json with the strict
// checks of decodeBytes 0.46x and 0.47x. They buy 10% throughput over the best
// library path and 26% over encoding/json.

// flatField is where parseFlat puts the value of a field: a string (text), a string
// that may be absent (optional), an integer (num), a boolean (flag) or an array of
// int32 (ints); bit marks it seen. A zero bit is a field parseFlat leaves to
// decodeBytes.
type flatField struct {
	bit      int
	text     *string
	optional **string
	num      **int64
	flag     *bool
	ints     *[]int32
}

// parseFlat parses body, a JSON object whose values are plain strings, non-negative
// integers, booleans and arrays of non-negative int32, each name at most once, into
// the places field gives, and reports whether it could. When it reports false, the
// request may be partly filled, and decodeBytes must decode the body again
// (decodeFlat).
func parseFlat(body string, field func(name string) flatField) bool {
	p := jsonScanner{s: body}
	p.space()
	if !p.eat('{') {
		return false
	}
	seen := 0
	for {
		p.space()
		name, ok := p.plainString()
		if !ok {
			return false
		}
		p.space()
		if !p.eat(':') {
			return false
		}
		p.space()
		f := field(name)
		if f.bit == 0 || seen&f.bit != 0 {
			return false
		}
		seen |= f.bit
		switch {
		case f.flag != nil:
			v, ok := p.boolean()
			if !ok {
				return false
			}
			*f.flag = v
		case f.text != nil:
			v, ok := p.plainString()
			if !ok {
				return false
			}
			*f.text = v
		case f.optional != nil:
			v, ok := p.plainString()
			if !ok {
				return false
			}
			*f.optional = &v
		case f.num != nil:
			v, ok := p.integer()
			if !ok {
				return false
			}
			*f.num = &v
		case f.ints != nil:
			v, ok := p.int32s()
			if !ok {
				return false
			}
			*f.ints = v
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return false
		}
		p.space()
		return p.i == len(p.s)
	}
}

// exactField is the place of an exactString field's value, which is then set.
func exactField(bit int, s *exactString) flatField {
	s.Set = true
	return flatField{bit: bit, text: &s.Value}
}

// presignField says where the value of field name goes in req.
func presignField(name string, req *presignRequest) flatField {
	switch name {
	case "bucket":
		return exactField(seenBucket, &req.Bucket)
	case "key":
		return exactField(seenKey, &req.Key)
	case "method":
		return flatField{bit: seenMethod, text: &req.Method}
	case "expires_in":
		return flatField{bit: seenExpiresIn, num: &req.ExpiresIn}
	case "strict_ttl":
		return flatField{bit: seenStrictTTL, flag: &req.StrictTTL}
	case "version_id":
		return flatField{bit: seenVersionID, text: &req.VersionID}
	case "content_type":
		return flatField{bit: seenContentType, text: &req.ContentType}
	case "content_length":
		return flatField{bit: seenContentLength, num: &req.ContentLength}
	case "checksum_sha256":
		return flatField{bit: seenChecksum, text: &req.ChecksumSHA256}
	case "response_content_disposition":
		return flatField{bit: seenDisposition, text: &req.ResponseContentDisposition}
	case "response_content_type":
		return flatField{bit: seenResponseType, text: &req.ResponseContentType}
	case "response_cache_control":
		return flatField{bit: seenCacheControl, text: &req.ResponseCacheControl}
	case "download_filename":
		return flatField{bit: seenFilename, text: &req.DownloadFilename}
	}
	return flatField{} // metadata, or a name decodeBytes must judge
}

// jsonScanner reads the simple JSON that parseFlat accepts.
type jsonScanner struct {
	s string
	i int
}

func (p *jsonScanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes, which decodes to
// exactly its bytes.
func (p *jsonScanner) plainString() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	p.i += auditlog.PlainPrefix(p.s[p.i:])
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
		return p.s[start : p.i-1], true
	}
	return "", false
}

// integer reads a non-negative integer of at most 18 digits without leading zeros,
// which fits an int64.
func (p *jsonScanner) integer() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || digits > 1 && p.s[start] == '0' {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

// int32s reads an array of non-negative integers that fit an int32.
func (p *jsonScanner) int32s() ([]int32, bool) {
	if !p.eat('[') {
		return nil, false
	}
	p.space()
	v := []int32{}
	if p.eat(']') {
		return v, true
	}
	for {
		n, ok := p.integer()
		if !ok || n > math.MaxInt32 {
			return nil, false
		}
		v = append(v, int32(n))
		p.space()
		if p.eat(']') {
			return v, true
		}
		if !p.eat(',') {
			return nil, false
		}
		p.space()
	}
}

func (p *jsonScanner) boolean() (bool, bool) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, true
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, true
	}
	return false, false
}

// jsonBuffer is a pooled response buffer.
type jsonBuffer struct{ b []byte }

var bufferPool = sync.Pool{New: func() any { return &jsonBuffer{b: make([]byte, 0, 1024)} }}

func getBuffer() *jsonBuffer { return bufferPool.Get().(*jsonBuffer) }

func putBuffer(buf *jsonBuffer) {
	if cap(buf.b) > 64<<10 {
		return // a large batch; let it go
	}
	buf.b = buf.b[:0]
	bufferPool.Put(buf)
}

// The header values of JSON responses. They are shared by every response: net/http
// only reads them, and Header.Add appends to a copy (their capacity is 1).
var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
	headerNoSniff = []string{"nosniff"}
)

// writeJSON writes a JSON body with the headers encode sets.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNoSniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// appendPresignResponse appends res as encoding/json encodes a presignResponse.
func appendPresignResponse(b []byte, res *presignResponse) []byte {
	b = append(b, `{"url":`...)
	b = appendJSONString(b, res.URL)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, res.Method)
	b = append(b, `,"expires_at":`...)
	b = appendJSONTime(b, res.ExpiresAt)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, res.ExpiresIn, 10)
	b = append(b, `,"headers":`...)
	b = appendJSONHeaders(b, res.Headers)
	if res.CappedBy != "" {
		b = append(b, `,"capped_by":`...)
		b = appendJSONString(b, res.CappedBy)
	}
	return append(b, '}')
}

// appendJSONExpiry appends the members that end the upload answers, expires_at,
// expires_in and capped_by when set, and closes the object.
func appendJSONExpiry(b []byte, at time.Time, in int64, cappedBy string) []byte {
	b = append(b, `,"expires_at":`...)
	b = appendJSONTime(b, at)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, in, 10)
	if cappedBy != "" {
		b = append(b, `,"capped_by":`...)
		b = appendJSONString(b, cappedBy)
	}
	return append(b, '}')
}

// appendJSONHeaders appends a string map with its keys sorted, as encoding/json does.
func appendJSONHeaders(b []byte, h map[string]string) []byte {
	if h == nil {
		return append(b, "null"...)
	}
	var small [8]string
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

// appendJSONTime appends t as time.Time's MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		return appendJSONValue(b, t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString appends s as encoding/json without HTML escaping does.
func appendJSONString(b []byte, s string) []byte {
	if auditlog.PlainPrefix(s) != len(s) {
		return appendJSONValue(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONValue appends v encoded by encoding/json without HTML escaping.
func appendJSONValue(b []byte, v any) []byte {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return append(b, bytes.TrimSuffix(out.Bytes(), []byte("\n"))...)
}
