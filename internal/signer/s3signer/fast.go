package s3signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"github.com/presignd/presignd/internal/signer"
	"hash"
	"maps"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fast path signs the requests of Presign with SigV4 directly, without building an
// S3 client and a middleware stack per URL. It signs exactly what s3.PresignClient
// signs: where a bucket's URLs point (endpoint, host, path style) and its credential
// scope are learned from the SDK itself, once per bucket, and checked by signing a set
// of probe requests both ways and comparing the results byte for byte. A bucket whose
// probes differ in any way, and any request the fast path does not cover, is signed by
// the SDK. The day's signing key is cached per secret, date, region and service.
//
// UploadPart URLs (fastparts.go) and POST policies (fastpost.go) are signed the same
// way, each with probes of its own, so that a bucket whose part URLs or policies
// differ leaves only those to the SDK.
//
// TestFastPathMatchesPresignClient, TestFastPartsMatchPresignUploadPart and
// TestFastPostMatchesPresignPostObject hold the two paths to the same output.

const (
	// maxRoutes bounds the per-bucket cache; buckets beyond it are signed by the SDK.
	maxRoutes = 4096
	// maxSigningKeys bounds the signing-key cache; it starts over when full.
	maxSigningKeys = 64
	// maxPooledBuffer is the largest scratch buffer kept for reuse.
	maxPooledBuffer = 64 << 10
)

// route is what is constant for the URLs of one bucket.
type route struct {
	// ok, parts and post say which of the bucket's requests the fast path signs: the
	// object URLs of Presign, UploadPart URLs, POST policies. Each has its own probes.
	ok, parts, post bool
	// postURL is the URL a POST form goes to.
	postURL string
	// base is the URL up to the key: scheme, authority and path prefix ending in '/'.
	base string
	// pathAt is the index in base where the path starts.
	pathAt int
	// host is the signed Host value (the authority without a default port).
	host            string
	region, service string
}

// fastState holds the fast path's caches.
type fastState struct {
	mu     sync.Mutex // serialises route building and cache writes
	routes atomic.Pointer[map[string]*route]
	keys   atomic.Pointer[map[signingKeyID]*signingKey]
}

type signingKeyID struct {
	secret          string
	date            [8]byte
	region, service string
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// scratch holds the buffers of one signing.
type scratch struct {
	url, canonical, toSign, signed []byte
	mac                            hmacScratch
}

// presignFast signs req at the given time when the fast path covers it, and reports
// whether it did. It never fails: anything unexpected is left to the SDK.
func (s *Signer) presignFast(ctx context.Context, req signer.Request, at time.Time) (signer.Presigned, bool) {
	if s.sdkOnly || !fastCovers(req) {
		return signer.Presigned{}, false
	}
	rt := s.route(ctx, req.Bucket)
	if rt == nil || !rt.ok {
		return signer.Presigned{}, false
	}
	key := s.signingKey(req.Credentials.SecretAccessKey, at, rt.region, rt.service)
	url, headers := rt.sign(&req, nil, at, key)
	return signer.Presigned{URL: url, Method: req.Method, Headers: headers, SignedAt: at, Expires: req.Expires}, true
}

// fastCovers says whether the fast path can sign req. Metadata names must be lowercase
// header tokens, the names whose header form the SDK derives predictably.
func fastCovers(req signer.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPut:
	default:
		return false
	}
	if req.Key == "" || req.Expires < time.Second {
		return false
	}
	if req.Method == http.MethodPut {
		for name := range req.Metadata {
			if name == "" || !isLowerToken(name) {
				return false
			}
		}
	}
	return true
}

func isLowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// route returns the cached route of a bucket, building it on first use. It returns
// nil when the route could not be learned this time (it is then not cached).
func (s *Signer) route(ctx context.Context, bucket string) *route {
	if m := s.fast.routes.Load(); m != nil {
		if rt, ok := (*m)[bucket]; ok {
			return rt
		}
	}
	s.fast.mu.Lock()
	defer s.fast.mu.Unlock()
	old := s.fast.routes.Load()
	if old != nil {
		if rt, ok := (*old)[bucket]; ok {
			return rt
		}
		if len(*old) >= maxRoutes {
			return nil
		}
	}
	rt, cache := s.learnRoute(context.WithoutCancel(ctx), bucket)
	if !cache {
		return nil
	}
	m := make(map[string]*route, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	m[bucket] = rt
	s.fast.routes.Store(&m)
	return rt
}

// probeTime and probeCredentials sign the probes; they never leave the process.
var (
	probeTime        = time.Date(2020, 2, 29, 23, 59, 59, 0, time.UTC)
	probeCredentials = signer.Credentials{AccessKeyID: "AKIDPROBE", SecretAccessKey: "probe-secret"}
)

// probeRequests cover every method, every option and a key with every kind of byte.
// The first one is plain and names its key "k", so that the route can be read off its URL.
func probeRequests() []signer.Request {
	temp := probeCredentials
	temp.SessionToken = "probe/session+token=="
	base := signer.Request{Key: "k", Method: http.MethodGet, Expires: time.Second, Credentials: probeCredentials, ContentLength: -1}
	get := base
	get.Key = "dir/a b+c=d&e%f#g?h'i\"j(k)l[m]n~o!p*q;r:s@t$u,v/é/e\u0301/日本/😀/\x7f\xff/./../x"
	get.VersionID = "v 1+/="
	get.ResponseContentDisposition = `attachment; filename="a  b.txt"`
	get.ResponseContentType = "text/plain; charset=utf-8"
	get.ResponseCacheControl = "no-cache"
	get.Credentials = temp
	get.Expires = 604800 * time.Second
	head := get
	head.Method = http.MethodHead
	del := base
	del.Method, del.VersionID = http.MethodDelete, "v1"
	put := base
	put.Method = http.MethodPut
	put.ContentType = " image/png  x "
	put.ContentLength = 1234
	put.ChecksumSHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	put.Metadata = map[string]string{"owner": "a  b ", "z_9.x": "v", "a-b": ""}
	put.Credentials = temp
	putEmpty := base
	putEmpty.Method, putEmpty.ContentLength, putEmpty.ContentType = http.MethodPut, 0, "text/plain"
	return []signer.Request{base, get, head, del, put, putEmpty}
}

// learnRoute learns a bucket's route from the SDK and checks it on the probes of each
// kind of request. It reports false when the SDK failed, so that the bucket is tried
// again later.
func (s *Signer) learnRoute(ctx context.Context, bucket string) (*route, bool) {
	no := &route{}
	// Directory buckets (S3 Express) and access point aliases sign differently, and an
	// ARN is no bucket name; leave them all to the SDK without probing.
	if bucket == "" || strings.Contains(bucket, "--") || strings.ContainsAny(bucket, ":/") {
		return no, true
	}
	plain := probeRequests()[0]
	plain.Bucket = bucket
	first, err := s.presignSDK(ctx, plain, probeTime)
	if err != nil {
		return nil, false
	}
	rt := parseRoute(first.URL)
	if rt == nil {
		return no, true
	}
	for _, probe := range []func(context.Context, *route, string) error{s.probeObjects, s.probeParts, s.probePost} {
		if err := probe(ctx, rt, bucket); err != nil {
			return nil, false
		}
	}
	return rt, true
}

// probeObjects checks the route on the object probes, and sets rt.ok when the fast
// path signs them all as the SDK does.
func (s *Signer) probeObjects(ctx context.Context, rt *route, bucket string) error {
	for _, p := range probeRequests() {
		p.Bucket = bucket
		want, err := s.presignSDK(ctx, p, probeTime)
		if err != nil {
			return err
		}
		key := deriveSigningKey(p.Credentials.SecretAccessKey, probeTime, rt.region, rt.service)
		url, headers := rt.sign(&p, nil, probeTime, key)
		if url != want.URL || !maps.Equal(headers, want.Headers) || want.Method != p.Method {
			return nil
		}
	}
	rt.ok = true
	return nil
}

// parseRoute reads a route off the SDK's URL for the plain probe, or returns nil when
// the URL is not of the form the fast path reproduces.
func parseRoute(u string) *route {
	base, rawQuery, ok := strings.Cut(u, "?")
	if !ok || !strings.HasSuffix(base, "/k") {
		return nil
	}
	base = base[:len(base)-1]
	var rest string
	switch {
	case strings.HasPrefix(base, "https://"):
		rest = base[len("https://"):]
	case strings.HasPrefix(base, "http://"):
		rest = base[len("http://"):]
	default:
		return nil
	}
	slash := strings.IndexByte(rest, '/')
	authority, path := rest[:slash], rest[slash:]
	host, port, hasPort := strings.Cut(authority, ":")
	if host == "" || !allBytes(host, isHostByte) || hasPort && (port == "" || !allBytes(port, isDigit)) {
		return nil
	}
	if !allBytes(path, func(c byte) bool { return c == '/' || isUnreserved(c) }) {
		return nil
	}
	signedHost := authority
	if hasPort && (port == "443" && strings.HasPrefix(base, "https:") || port == "80" && strings.HasPrefix(base, "http:")) {
		signedHost = host
	}
	rt := &route{base: base, pathAt: len(base) - len(path), host: signedHost}

	// The query must hold exactly the signing parameters and x-id, signing only host.
	want := map[string]bool{
		"X-Amz-Algorithm": true, "X-Amz-Credential": true, "X-Amz-Date": true, "X-Amz-Expires": true,
		"X-Amz-SignedHeaders": true, "x-id": true, "X-Amz-Signature": true,
	}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if !want[k] {
			return nil
		}
		delete(want, k)
		switch k {
		case "X-Amz-Algorithm":
			if v != "AWS4-HMAC-SHA256" {
				return nil
			}
		case "X-Amz-SignedHeaders":
			if v != "host" {
				return nil
			}
		case "x-id":
			if v != "GetObject" {
				return nil
			}
		case "X-Amz-Credential":
			parts := strings.Split(v, "%2F")
			if len(parts) != 5 || parts[0] != probeCredentials.AccessKeyID || parts[4] != "aws4_request" {
				return nil
			}
			rt.region, rt.service = parts[2], parts[3]
			if rt.region == "" || rt.service == "" || !allBytes(rt.region, isScopeByte) || !allBytes(rt.service, isScopeByte) {
				return nil
			}
		}
	}
	if len(want) != 0 {
		return nil
	}
	return rt
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isHostByte(c byte) bool {
	return isLower(c) || 'A' <= c && c <= 'Z' || isDigit(c) || c == '.' || c == '-'
}
func isScopeByte(c byte) bool { return isLower(c) || isDigit(c) || c == '-' }

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || isLower(c) || isDigit(c) || c == '-' || c == '_' || c == '.' || c == '~'
}

// signingKey returns the day's SigV4 signing key, from the cache when it can.
func (s *Signer) signingKey(secret string, at time.Time, region, service string) *signingKey {
	id := signingKeyID{secret: secret, region: region, service: service}
	appendDate(id.date[:0], at)
	if m := s.fast.keys.Load(); m != nil {
		if k, ok := (*m)[id]; ok {
			return k
		}
	}
	k := deriveSigningKey(secret, at, region, service)
	s.fast.mu.Lock()
	defer s.fast.mu.Unlock()
	m := map[signingKeyID]*signingKey{}
	if old := s.fast.keys.Load(); old != nil && len(*old) < maxSigningKeys {
		m = maps.Clone(*old)
	}
	m[id] = k
	s.fast.keys.Store(&m)
	return k
}

// deriveSigningKey is SigV4's kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"),
// with its pad states.
func deriveSigningKey(secret string, at time.Time, region, service string) *signingKey {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), string(appendDate(nil, at)))
	k = mac(k, region)
	k = mac(k, service)
	return newSigningKey([sha256.Size]byte(mac(k, "aws4_request")))
}

// appendDate appends the YYYYMMDD of at, in UTC: at.UTC().AppendFormat(b,
// "20060102"), without AppendFormat's walk of the layout (TestTimeAppenders).
func appendDate(b []byte, at time.Time) []byte {
	at = at.UTC()
	year, month, day := at.Date()
	if year < 0 || year > 9999 {
		return at.AppendFormat(b, "20060102")
	}
	b = appendDigits(b, year, 4)
	b = appendDigits(b, int(month), 2)
	return appendDigits(b, day, 2)
}

// appendAmzDate appends the ISO 8601 basic time of at, in UTC, SigV4's X-Amz-Date:
// at.UTC().AppendFormat(b, "20060102T150405Z"), about a third of its time
// (TestTimeAppenders). A URL is signed with it twice.
func appendAmzDate(b []byte, at time.Time) []byte {
	at = at.UTC()
	if year := at.Year(); year < 0 || year > 9999 {
		return at.AppendFormat(b, "20060102T150405Z")
	}
	b = appendDate(b, at)
	hour, minute, sec := at.Clock()
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = appendDigits(b, minute, 2)
	b = appendDigits(b, sec, 2)
	return append(b, 'Z')
}

// appendDigits appends v, 0 <= v < 10^width <= 10^4, in exactly width digits.
func appendDigits(b []byte, v, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

// header is one signed header.
type header struct {
	name  string // lowercase, as signed; without "x-amz-meta-" when meta
	value string // as sent
	meta  bool
}

// uploadPart is what an UploadPart URL adds to a PUT: the part number and upload ID.
type uploadPart struct {
	number   int32
	uploadID string
}

// xID is the x-id query parameter the SDK adds per operation.
func xID(method string, part *uploadPart) string {
	if part != nil {
		return "UploadPart"
	}
	switch method {
	case http.MethodGet:
		return "GetObject"
	case http.MethodPut:
		return "PutObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return ""
}

// signedHeaders returns the headers the SDK signs for req, sorted by name, host
// included. It uses buf when it is large enough.
func (rt *route) signedHeaders(req *signer.Request, buf []header) []header {
	headers := buf[:0]
	if req.Method != http.MethodPut {
		return append(headers, header{name: "host", value: rt.host})
	}
	if req.ContentLength > 0 {
		headers = append(headers, header{name: "content-length", value: strconv.FormatInt(req.ContentLength, 10)})
	}
	// PresignPutObject drops Content-Type from a request declaring a zero length.
	if req.ContentType != "" && req.ContentLength != 0 {
		headers = append(headers, header{name: "content-type", value: req.ContentType})
	}
	headers = append(headers, header{name: "host", value: rt.host})
	if req.ChecksumSHA256 != "" {
		headers = append(headers, header{name: "x-amz-checksum-sha256", value: req.ChecksumSHA256})
	}
	// Metadata headers sort last ("x-amz-meta-" > "x-amz-checksum-"), by name.
	metaAt := len(headers)
	for name, v := range req.Metadata {
		headers = append(headers, header{name: name, value: v, meta: true})
	}
	meta := headers[metaAt:]
	for i := 1; i < len(meta); i++ {
		for j := i; j > 0 && meta[j].name < meta[j-1].name; j-- {
			meta[j], meta[j-1] = meta[j-1], meta[j]
		}
	}
	return headers
}

// sign builds the pre-signed URL of req and the headers the caller must send, as
// s3.PresignClient with the v4 signer does: the same parameters, in the same order,
// escaped the same way. With part set, req is the PUT of an UploadPart.
func (rt *route) sign(req *signer.Request, part *uploadPart, at time.Time, key *signingKey) (string, map[string]string) {
	sc := scratchPool.Get().(*scratch)
	defer func() {
		if cap(sc.url)+cap(sc.canonical)+cap(sc.toSign)+cap(sc.signed) <= maxPooledBuffer {
			scratchPool.Put(sc)
		}
	}()
	var buf [8]header
	headers := rt.signedHeaders(req, buf[:])
	sc.signed = appendSignedHeaderNames(sc.signed[:0], headers)

	var dateBuf [8]byte
	date := appendDate(dateBuf[:0], at)
	u, queryAt := rt.appendUnsignedURL(sc.url[:0], req, part, at, date, sc.signed)
	sc.canonical = appendCanonicalRequest(sc.canonical[:0], req.Method, u[rt.pathAt:queryAt], u[queryAt+1:], headers, sc.signed)
	hash := sha256.Sum256(sc.canonical)

	sc.toSign = rt.appendStringToSign(sc.toSign[:0], at, date, &hash)
	sig := key.mac(&sc.mac, sc.toSign)

	u = append(u, "&X-Amz-Signature="...)
	u = hex.AppendEncode(u, sig[:])
	sc.url = u
	return string(u), headersToSend(headers)
}

// appendSignedHeaderNames appends the X-Amz-SignedHeaders value: the names of headers,
// in order, joined by ';'.
func appendSignedHeaderNames(b []byte, headers []header) []byte {
	for i, h := range headers {
		if i > 0 {
			b = append(b, ';')
		}
		if h.meta {
			b = append(b, "x-amz-meta-"...)
		}
		b = append(b, h.name...)
	}
	return b
}

// appendUnsignedURL appends the URL of req without its signature, and returns it with
// the index of its '?'. The query is in the order the SDK sorts it.
func (rt *route) appendUnsignedURL(u []byte, req *signer.Request, part *uploadPart, at time.Time, date, signed []byte) ([]byte, int) {
	u = append(u, rt.base...)
	u = appendEscaped(u, req.Key, false)
	queryAt := len(u)
	u = append(u, "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="...)
	u = appendEscaped(u, req.Credentials.AccessKeyID, true)
	u = append(u, "%2F"...)
	u = append(u, date...)
	u = append(u, "%2F"...)
	u = append(u, rt.region...)
	u = append(u, "%2F"...)
	u = append(u, rt.service...)
	u = append(u, "%2Faws4_request&X-Amz-Date="...)
	u = appendAmzDate(u, at)
	u = append(u, "&X-Amz-Expires="...)
	u = strconv.AppendInt(u, int64(req.Expires/time.Second), 10)
	if tok := req.Credentials.SessionToken; tok != "" {
		u = append(u, "&X-Amz-Security-Token="...)
		u = appendEscaped(u, tok, true)
	}
	u = append(u, "&X-Amz-SignedHeaders="...)
	u = appendEscaped(u, string(signed), true)
	if part != nil {
		u = append(u, "&partNumber="...)
		u = strconv.AppendInt(u, int64(part.number), 10)
		u = appendParam(u, "uploadId", part.uploadID)
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		u = appendParam(u, "response-cache-control", req.ResponseCacheControl)
		u = appendParam(u, "response-content-disposition", req.ResponseContentDisposition)
		u = appendParam(u, "response-content-type", req.ResponseContentType)
	}
	if req.Method != http.MethodPut {
		u = appendParam(u, "versionId", req.VersionID)
	}
	u = appendParam(u, "x-id", xID(req.Method, part))
	return u, queryAt
}

// appendCanonicalRequest appends SigV4's canonical request; path and query are the
// URL's, already escaped.
func appendCanonicalRequest(c []byte, method string, path, query []byte, headers []header, signed []byte) []byte {
	c = append(c, method...)
	c = append(c, '\n')
	c = append(c, path...)
	c = append(c, '\n')
	c = append(c, query...)
	c = append(c, '\n')
	for _, h := range headers {
		if h.meta {
			c = append(c, "x-amz-meta-"...)
		}
		c = append(c, h.name...)
		c = append(c, ':')
		c = append(c, canonicalValue(h.value)...)
		c = append(c, '\n')
	}
	c = append(c, '\n')
	c = append(c, signed...)
	c = append(c, "\nUNSIGNED-PAYLOAD"...)
	return c
}

// appendStringToSign appends SigV4's string to sign for the canonical request whose
// SHA-256 is hash.
func (rt *route) appendStringToSign(m []byte, at time.Time, date []byte, hash *[sha256.Size]byte) []byte {
	m = append(m, "AWS4-HMAC-SHA256\n"...)
	m = appendAmzDate(m, at)
	m = append(m, '\n')
	m = append(m, date...)
	m = append(m, '/')
	m = append(m, rt.region...)
	m = append(m, '/')
	m = append(m, rt.service...)
	m = append(m, "/aws4_request\n"...)
	return hex.AppendEncode(m, hash[:])
}

// headersToSend returns the signed headers the caller must send with the URL, named as
// the SDK names them; host is left out.
func headersToSend(headers []header) map[string]string {
	out := make(map[string]string, len(headers)-1)
	for _, h := range headers {
		switch {
		case h.meta:
			out[textproto.CanonicalMIMEHeaderKey("x-amz-meta-"+h.name)] = h.value
		case h.name == "content-length":
			out["Content-Length"] = h.value
		case h.name == "content-type":
			out["Content-Type"] = h.value
		case h.name == "x-amz-checksum-sha256":
			out["X-Amz-Checksum-Sha256"] = h.value
		}
	}
	return out
}

// signingKey is a day's SigV4 signing key with the SHA-256 states that follow its
// HMAC pads, key XOR ipad and key XOR opad. A signature then hashes its message and
// one outer block, not also a pad block on each side (BenchmarkSigningKeyMAC).
type signingKey struct {
	key          [sha256.Size]byte
	inner, outer []byte // sha256 digest states, as MarshalBinary returns them
}

func newSigningKey(key [sha256.Size]byte) *signingKey {
	var ipad, opad [sha256.BlockSize]byte
	for i := range sha256.BlockSize {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		ipad[i], opad[i] = k^0x36, k^0x5c
	}
	return &signingKey{key: key, inner: padState(ipad[:]), outer: padState(opad[:])}
}

// padState returns the marshaled state of a SHA-256 digest that has hashed pad.
func padState(pad []byte) []byte {
	h := sha256.New()
	h.Write(pad)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // crypto/sha256's digest always marshals
	}
	return state
}

// macDigest is a SHA-256 digest that can be set to a marshaled state.
type macDigest interface {
	hash.Hash
	encoding.BinaryUnmarshaler
}

// hmacScratch holds the digests of an HMAC, reused from one signature to the next.
type hmacScratch struct {
	inner, outer macDigest
	sum          [sha256.Size]byte
}

// mac returns HMAC-SHA256(k, msg) computed with the digests of h.
func (k *signingKey) mac(h *hmacScratch, msg []byte) [sha256.Size]byte {
	if h.inner == nil {
		h.inner, h.outer = sha256.New().(macDigest), sha256.New().(macDigest)
	}
	if h.inner.UnmarshalBinary(k.inner) != nil || h.outer.UnmarshalBinary(k.outer) != nil {
		panic("s3signer: a SHA-256 state made by MarshalBinary did not unmarshal")
	}
	h.inner.Write(msg)
	h.outer.Write(h.inner.Sum(h.sum[:0]))
	h.outer.Sum(h.sum[:0])
	return h.sum
}

// appendParam appends &name=value when value is set; name needs no escaping.
func appendParam(u []byte, name, value string) []byte {
	if value == "" {
		return u
	}
	u = append(u, '&')
	u = append(u, name...)
	u = append(u, '=')
	return appendEscaped(u, value, true)
}

// appendEscaped percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/' unless
// escapeSlash), as the SDK escapes both paths and query components.
func appendEscaped(b []byte, s string, escapeSlash bool) []byte {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || c == '/' && !escapeSlash {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperhex[c>>4], upperhex[c&15])
	}
	return b
}

// canonicalValue is the SDK's canonical form of a header value: runs of spaces
// collapsed, then surrounding white space trimmed.
func canonicalValue(v string) string {
	return strings.TrimSpace(stripExcessSpaces(v))
}

// stripExcessSpaces trims spaces at both ends and collapses runs of spaces inside, as
// the v4 signer does before trimming white space.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}
