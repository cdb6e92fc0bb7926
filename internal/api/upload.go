package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// Browser uploads: POST policies and multipart. A PUT grant permits every upload
// form, each held to the grant's content_types and max_content_length.

const maxPartsPerCall = 1000

type postRequest struct {
	Bucket            exactString `json:"bucket"`
	Key               exactString `json:"key"`
	KeyPrefix         exactString `json:"key_prefix"`
	Filename          exactString `json:"filename"`
	ExpiresIn         *int64      `json:"expires_in"`
	StrictTTL         bool        `json:"strict_ttl"`
	ContentType       string      `json:"content_type"`
	ContentTypePrefix *string     `json:"content_type_prefix"`
	MaxContentLength  *int64      `json:"max_content_length"`
}

func (req *postRequest) checkText() error {
	return lossyText(req.Key.Lossy || req.KeyPrefix.Lossy || req.Filename.Lossy, req.Bucket.Lossy)
}

type postResponse struct {
	URL       string            `json:"url"`
	Key       string            `json:"key"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	CappedBy  string            `json:"capped_by,omitempty"`
}

func (res *postResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"url":`...)
	b = appendJSONString(b, res.URL)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, res.Key)
	b = append(b, `,"fields":`...)
	b = appendJSONHeaders(b, res.Fields)
	return appendJSONExpiry(b, res.ExpiresAt, res.ExpiresIn, res.CappedBy)
}

// presignPost signs a browser form upload. The policy always fixes the whole key:
// with key_prefix, presignd picks a fresh name under the prefix (and the caller's
// filename below it) and returns it. A policy that let the uploader choose the key
// with starts-with could not stop a "../" in it, which S3-compatible stores that map
// keys to paths resolve out of the prefix.
func (s *Server) presignPost(ctx context.Context, c *caller, req *postRequest, entry *auditEntry) (*postResponse, error) {
	entry.method, entry.bucket, entry.key = "POST", req.Bucket.Value, req.Key.Value
	if !req.Key.Set {
		entry.key = req.KeyPrefix.Value
	}
	switch {
	case !req.Bucket.Set:
		return nil, requiredErr("bucket")
	case req.Key.Set == req.KeyPrefix.Set:
		return nil, errorf(CodeInvalidRequest, "give exactly one of key and key_prefix")
	case req.Filename.Set && !req.KeyPrefix.Set:
		return nil, fieldErr("filename", "goes with key_prefix only")
	case req.ContentTypePrefix != nil:
		return nil, fieldErr("content_type_prefix", "is not accepted: S3 would only check that the form's Content-Type starts with it, "+
			"so an uploader could append a second type (image/x,text/html) that browsers obey; give content_type, the exact type")
	case !headerSafe(req.ContentType):
		return nil, fieldErr("content_type", "must be printable ASCII of at most 1024 characters")
	case req.MaxContentLength != nil && (*req.MaxContentLength < 0 || *req.MaxContentLength > signer.MaxPostObjectSize):
		return nil, fieldErr("max_content_length", "must be between 0 and 5 GiB, the largest object a POST upload may carry")
	}
	key := req.Key.Value
	if req.KeyPrefix.Set {
		var err error
		if key, err = keyUnderPrefix(req.KeyPrefix.Value, req.Filename); err != nil {
			return nil, err
		}
		entry.key = key
	}
	preq := policy.Request{
		Bucket: req.Bucket.Value, Key: key, Method: policy.MethodPut, TTL: ttlOrDefault(req.ExpiresIn),
		StrictTTL: req.StrictTTL, ContentType: req.ContentType, ContentLength: -1, Form: true,
	}
	if req.MaxContentLength != nil {
		preq.ContentLength = *req.MaxContentLength
	}
	entry.requestedTTL = preq.TTL
	st := s.state.Load()
	d, creds, err := s.decide(ctx, st, c, preq, entry)
	if err != nil {
		return nil, err
	}
	maxLen := int64(signer.MaxPostObjectSize)
	if d.Grant.MaxContentLength > 0 {
		maxLen = min(maxLen, d.Grant.MaxContentLength)
	}
	if req.MaxContentLength != nil {
		maxLen = min(maxLen, *req.MaxContentLength)
	}
	pp, err := st.signer.PresignPost(ctx, signer.PostRequest{
		Bucket: preq.Bucket, Key: key,
		Expires: time.Duration(d.TTL) * time.Second, Credentials: creds,
		ContentType: preq.ContentType, MaxContentLength: maxLen,
	})
	if err != nil {
		return nil, err
	}
	return &postResponse{URL: pp.URL, Key: key, Fields: pp.Fields, ExpiresAt: pp.ExpiresAt(), ExpiresIn: d.TTL, CappedBy: string(d.CappedBy)}, nil
}

// keyUnderPrefix names a new object under prefix: a random 128-bit name, and the
// caller's filename below it when one is given. The filename must be one key segment.
func keyUnderPrefix(prefix string, filename exactString) (string, error) {
	if prefix == "" {
		return "", fieldErr("key_prefix", "must not be empty")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	key := prefix + strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	if filename.Set {
		name := filename.Value
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			return "", fieldErr("filename", "must be one key segment: not empty, no '/', not . or ..")
		}
		key += "/" + name
	}
	// The prefix and filename are the caller's: the whole key must keep presignd's rules.
	if err := policy.ValidateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

func ttlOrDefault(v *int64) int64 {
	if v == nil {
		return DefaultExpiresIn
	}
	return *v
}

// Multipart.

type multipartCreateRequest struct {
	Bucket        exactString `json:"bucket"`
	Key           exactString `json:"key"`
	ContentType   string      `json:"content_type"`
	ContentLength *int64      `json:"content_length"`
	// PartSize asks for a part size; presignd picks one when it is absent.
	PartSize *int64 `json:"part_size"`
}

func (req *multipartCreateRequest) checkText() error {
	return lossyText(req.Key.Lossy, req.Bucket.Lossy)
}

type multipartCreateResponse struct {
	UploadID string `json:"upload_id"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	// PartSize and PartCount say how to cut the declared size into parts; absent when
	// no size was declared.
	PartSize  int64 `json:"part_size,omitempty"`
	PartCount int32 `json:"part_count,omitempty"`
}

type multipartPartsRequest struct {
	Bucket      exactString `json:"bucket"`
	Key         exactString `json:"key"`
	UploadID    string      `json:"upload_id"`
	PartNumbers []int32     `json:"part_numbers"`
	ExpiresIn   *int64      `json:"expires_in"`
	StrictTTL   bool        `json:"strict_ttl"`
}

func (req *multipartPartsRequest) checkText() error {
	return lossyText(req.Key.Lossy, req.Bucket.Lossy)
}

type partURL struct {
	PartNumber int32  `json:"part_number"`
	URL        string `json:"url"`
	// Size is the part's exact size; absent when the upload declared none.
	Size int64 `json:"size,omitempty"`
	// Headers are the headers to send with the part, the signed Content-Length.
	Headers map[string]string `json:"headers"`
}

type multipartPartsResponse struct {
	Parts     []partURL `json:"parts"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
	CappedBy  string    `json:"capped_by,omitempty"`
}

func (res *multipartPartsResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"parts":`...)
	if res.Parts == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range res.Parts {
			p := &res.Parts[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"part_number":`...)
			b = strconv.AppendInt(b, int64(p.PartNumber), 10)
			b = append(b, `,"url":`...)
			b = appendJSONString(b, p.URL)
			if p.Size != 0 {
				b = append(b, `,"size":`...)
				b = strconv.AppendInt(b, p.Size, 10)
			}
			b = append(b, `,"headers":`...)
			b = appendJSONHeaders(b, p.Headers)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return appendJSONExpiry(b, res.ExpiresAt, res.ExpiresIn, res.CappedBy)
}

type completedPart struct {
	PartNumber int32  `json:"part_number"`
	ETag       string `json:"etag"`
}

type multipartCompleteRequest struct {
	Bucket   exactString     `json:"bucket"`
	Key      exactString     `json:"key"`
	UploadID string          `json:"upload_id"`
	Parts    []completedPart `json:"parts"`
}

func (req *multipartCompleteRequest) checkText() error {
	return lossyText(req.Key.Lossy, req.Bucket.Lossy)
}

type multipartCompleteResponse struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

type multipartAbortRequest struct {
	Bucket   exactString `json:"bucket"`
	Key      exactString `json:"key"`
	UploadID string      `json:"upload_id"`
}

func (req *multipartAbortRequest) checkText() error {
	return lossyText(req.Key.Lossy, req.Bucket.Lossy)
}

type multipartAbortResponse struct {
	Aborted bool `json:"aborted"`
}

// openUploadRequest checks the bucket, key and upload_id of a multipart call after
// create, and records them for the audit line.
func (s *Server) openUploadRequest(c *caller, bucket, key exactString, uploadID string, e *auditEntry) (uploadHandle, error) {
	if err := requireBucketKey(bucket, key); err != nil {
		return uploadHandle{}, err
	}
	e.bucket, e.key = bucket.Value, key.Value
	return s.uploads.open(s.uploadKey, uploadID, c.name, e.bucket, e.key)
}

// decideOnUpload checks that the caller may still write the upload h opens to: the
// PUT of its declared type and size, as when the upload was created.
func (s *Server) decideOnUpload(ctx context.Context, st *state, c *caller, h uploadHandle, e *auditEntry) (policy.Decision, error) {
	preq := policy.Request{Bucket: e.bucket, Key: e.key, Method: policy.MethodPut, TTL: 1, ContentType: h.ContentType, ContentLength: h.ContentLength}
	d, _, err := s.decide(ctx, st, c, preq, e)
	return d, err
}

func requireBucketKey(bucket, key exactString) error {
	switch {
	case !bucket.Set:
		return requiredErr("bucket")
	case !key.Set:
		return requiredErr("key")
	}
	return nil
}

func (s *Server) multipartCreate(ctx context.Context, c *caller, req *multipartCreateRequest, e *auditEntry) (*multipartCreateResponse, error) {
	if err := requireBucketKey(req.Bucket, req.Key); err != nil {
		return nil, err
	}
	e.bucket, e.key = req.Bucket.Value, req.Key.Value
	if !headerSafe(req.ContentType) {
		return nil, fieldErr("content_type", "must be printable ASCII of at most 1024 characters")
	}
	declared := int64(-1)
	if req.ContentLength != nil {
		if *req.ContentLength < 0 || *req.ContentLength > signer.MaxObjectSize {
			return nil, fieldErr("content_length", "must be between 0 and 5 TiB")
		}
		declared = *req.ContentLength
	}
	if req.PartSize != nil && declared < 0 {
		return nil, fieldErr("part_size", "needs content_length: a part size is fixed for a declared total size")
	}
	st := s.state.Load()
	preq := policy.Request{Bucket: e.bucket, Key: e.key, Method: policy.MethodPut, TTL: 1, ContentType: req.ContentType, ContentLength: declared}
	if _, _, err := s.decide(ctx, st, c, preq, e); err != nil {
		return nil, err
	}
	plan, err := planUpload(declared, req.PartSize)
	if err != nil {
		return nil, err
	}
	sctx, cancel := st.s3Calls(ctx)
	defer cancel()
	id, err := st.signer.CreateMultipartUpload(sctx, e.bucket, e.key, req.ContentType)
	if err != nil {
		return nil, s3Problem(err)
	}
	h := uploadHandle{UploadID: id, Client: c.name, Bucket: e.bucket, Key: e.key, ContentType: req.ContentType, ContentLength: declared, PartSize: plan.PartSize}
	return &multipartCreateResponse{UploadID: sealUpload(s.uploadKey, h), Bucket: e.bucket, Key: e.key,
		PartSize: plan.PartSize, PartCount: plan.Count()}, nil
}

// planUpload fixes the part size of an upload of a declared size, so that every part
// URL signs its part's exact Content-Length and the parts can never hold more than
// was declared. An upload without a declared size (allowed only under a grant
// without max_content_length) gets the zero plan: its parts bind no size.
func planUpload(declared int64, partSize *int64) (signer.PartPlan, error) {
	if declared < 0 {
		return signer.PartPlan{}, nil
	}
	if declared < signer.MinPartSize {
		return signer.PartPlan{}, fieldErr("content_length", "is %d bytes, below 5 MiB (%d bytes), the smallest multipart upload S3 takes; "+
			"upload it in one request instead: a PUT URL from POST /v1/presign (method PUT with content_length) "+
			"or a POST policy from POST /v1/presign/post", declared, signer.MinPartSize)
	}
	asked := int64(0) // presignd picks
	if partSize != nil {
		if asked = *partSize; asked < signer.MinPartSize || asked > signer.MaxPartSize {
			return signer.PartPlan{}, fieldErr("part_size", "must be between 5 MiB (%d bytes) and 5 GiB (%d bytes), S3's limits of a part",
				signer.MinPartSize, signer.MaxPartSize)
		}
	}
	plan, err := signer.PlanParts(declared, asked)
	if err != nil {
		return signer.PartPlan{}, fieldErr("part_size", "does not fit: %v", err)
	}
	return plan, nil
}

func (s *Server) multipartParts(ctx context.Context, c *caller, req *multipartPartsRequest, e *auditEntry) (*multipartPartsResponse, error) {
	h, err := s.openUploadRequest(c, req.Bucket, req.Key, req.UploadID, e)
	if err != nil {
		return nil, err
	}
	switch {
	case len(req.PartNumbers) == 0:
		return nil, fieldErr("part_numbers", "must list at least one part number")
	case len(req.PartNumbers) > maxPartsPerCall:
		return nil, fieldErr("part_numbers", "lists %d parts, above the limit of %d per call", len(req.PartNumbers), maxPartsPerCall)
	}
	plan := h.plan()
	seen := map[int32]bool{}
	for _, n := range req.PartNumbers {
		if n < 1 || n > signer.MaxParts {
			return nil, fieldErr("part_numbers", "holds %d; part numbers run from 1 to %d", n, signer.MaxParts)
		}
		if plan.Bounded() && n > plan.Count() {
			return nil, fieldErr("part_numbers", "holds %d, but the upload's declared %d bytes are %d parts of %d bytes (part_count)",
				n, plan.Size, plan.Count(), plan.PartSize)
		}
		if seen[n] {
			return nil, fieldErr("part_numbers", "lists part %d twice", n)
		}
		seen[n] = true
	}
	st := s.state.Load()
	preq := policy.Request{Bucket: e.bucket, Key: e.key, Method: policy.MethodPut, TTL: ttlOrDefault(req.ExpiresIn),
		StrictTTL: req.StrictTTL, ContentType: h.ContentType, ContentLength: h.ContentLength}
	e.requestedTTL = preq.TTL
	d, creds, err := s.decide(ctx, st, c, preq, e)
	if err != nil {
		return nil, err
	}
	urls, expiresAt, err := st.signer.PresignParts(ctx, signer.PartRequest{
		Bucket: e.bucket, Key: e.key, UploadID: h.UploadID, PartNumbers: req.PartNumbers, Plan: plan,
		Expires: time.Duration(d.TTL) * time.Second, Credentials: creds,
	})
	if err != nil {
		return nil, err
	}
	out := &multipartPartsResponse{Parts: make([]partURL, len(urls)), ExpiresAt: expiresAt, ExpiresIn: d.TTL, CappedBy: string(d.CappedBy)}
	for i, u := range urls {
		out.Parts[i] = partURL{PartNumber: u.PartNumber, URL: u.URL, Size: max(u.Size, 0), Headers: u.Headers}
	}
	return out, nil
}

func (s *Server) multipartComplete(ctx context.Context, c *caller, req *multipartCompleteRequest, e *auditEntry) (*multipartCompleteResponse, error) {
	h, err := s.openUploadRequest(c, req.Bucket, req.Key, req.UploadID, e)
	if err != nil {
		return nil, err
	}
	if len(req.Parts) == 0 || len(req.Parts) > signer.MaxParts {
		return nil, fieldErr("parts", "must list the uploaded parts (1 to 10000)")
	}
	st := s.state.Load()
	d, err := s.decideOnUpload(ctx, st, c, h, e)
	if err != nil {
		return nil, err
	}
	sctx, cancel := st.s3Calls(ctx)
	defer cancel()
	stored, err := st.signer.ListParts(sctx, e.bucket, e.key, h.UploadID)
	if err != nil {
		return nil, s3Problem(err)
	}
	sizes := make(map[int32]signer.Part, len(stored))
	for _, p := range stored {
		sizes[p.Number] = p
	}
	parts := make([]signer.Part, len(req.Parts))
	var total int64
	for i, p := range req.Parts {
		sp, ok := sizes[p.PartNumber]
		if !ok {
			return nil, fieldErr("parts", "lists part %d, which S3 does not hold for this upload", p.PartNumber)
		}
		if !signer.SameETag(p.ETag, sp.ETag) {
			return nil, fieldErr("parts", "gives an ETag for part %d that does not match the uploaded part", p.PartNumber)
		}
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return nil, fieldErr("parts", "must be in ascending part_number order without repeats")
		}
		parts[i] = sp
		total += sp.Size
	}
	limit, limitName := int64(-1), ""
	if h.ContentLength >= 0 {
		limit, limitName = h.ContentLength, "the declared content_length"
	}
	if g := d.Grant.MaxContentLength; g > 0 && (limit < 0 || g < limit) {
		limit, limitName = g, "the grant's max_content_length"
	}
	if limit >= 0 && total > limit {
		// The upload breaks its limits: drop it so nothing is stored.
		tooLarge := fmt.Sprintf("the parts add up to %d bytes, above %s of %d", total, limitName, limit)
		if err := st.signer.AbortMultipartUpload(sctx, e.bucket, e.key, h.UploadID); err != nil {
			// The upload is still there: say so, with S3's fault, so that the caller
			// tries again (complete or abort) rather than leave it behind.
			return nil, abortFailed(tooLarge, err)
		}
		return nil, &policy.DeniedError{Reason: policy.ReasonContentLengthTooLarge, Detail: tooLarge + "; the upload was aborted"}
	}
	etag, err := st.signer.CompleteMultipartUpload(sctx, e.bucket, e.key, h.UploadID, parts)
	if err != nil {
		return nil, s3Problem(err)
	}
	return &multipartCompleteResponse{Bucket: e.bucket, Key: e.key, ETag: etag, Size: total}, nil
}

func (s *Server) multipartAbort(ctx context.Context, c *caller, req *multipartAbortRequest, e *auditEntry) (*multipartAbortResponse, error) {
	h, err := s.openUploadRequest(c, req.Bucket, req.Key, req.UploadID, e)
	if err != nil {
		return nil, err
	}
	st := s.state.Load()
	if _, err := s.decideOnUpload(ctx, st, c, h, e); err != nil {
		return nil, err
	}
	sctx, cancel := st.s3Calls(ctx)
	defer cancel()
	if err := st.signer.AbortMultipartUpload(sctx, e.bucket, e.key, h.UploadID); err != nil {
		return nil, s3Problem(err)
	}
	return &multipartAbortResponse{Aborted: true}, nil
}

// s3Calls bounds the S3 calls of one request, all of them together, by s3Timeout, so
// that the request's answer, a 504 problem when S3 does not answer, is written before
// the HTTP server's write timeout closes the connection.
func (st *state) s3Calls(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, st.s3Timeout)
}

// s3RetryAfter is the Retry-After, in seconds, of an answer to S3's asking to slow down.
const s3RetryAfter = 2

// abortFailed is the problem of an upload over its limits that could not be aborted:
// S3's fault (502, 503 or 504), with a detail that says the upload is still there.
func abortFailed(tooLarge string, err error) error {
	p := s3Problem(err)
	var ae *Error
	if !errors.As(p, &ae) {
		return p
	}
	if ae.Code == CodeUploadNotFound {
		// Gone already: nothing is left to abort.
		return &policy.DeniedError{Reason: policy.ReasonContentLengthTooLarge, Detail: tooLarge + "; the upload is gone"}
	}
	out := *ae
	out.Detail = tooLarge + ", so the upload must be aborted, but aborting it failed (" + ae.Detail +
		"); it is still held by S3: call complete or abort again"
	return &out
}

// s3Problem maps an error of presignd's own S3 calls to a problem the caller can act on.
func s3Problem(err error) error {
	var se *signer.S3Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Fault() {
	case signer.FaultUploadGone:
		return &Error{Code: CodeUploadNotFound, Detail: "S3 holds no such multipart upload (it was completed or aborted)", Cause: err}
	case signer.FaultUploadRefused:
		return &Error{Code: CodeInvalidRequest, Detail: "S3 refused the upload: " + se.Code + ": " + clipString(se.Message), Cause: err}
	case signer.FaultNoBucket:
		return &Error{Code: CodeS3Error, Detail: "the bucket does not exist in S3", Cause: err}
	case signer.FaultTimeout:
		return &Error{Code: CodeS3Timeout, Detail: "S3 did not answer the call (" + se.Op + ") in time; try again", Cause: err}
	case signer.FaultSlowDown:
		return &Error{Code: CodeS3Unavailable, Detail: "S3 asks to slow down (" + se.Op + "); try again after Retry-After",
			RetryAfter: s3RetryAfter, Cause: err}
	default:
		return &Error{Code: CodeS3Error, Detail: "S3 did not complete the call (" + se.Op + "); try again", Cause: err}
	}
}

// Bits of the fields of a part URLs request parseFlat has seen.
const (
	partsSeenBucket = 1 << iota
	partsSeenKey
	partsSeenUploadID
	partsSeenPartNumbers
	partsSeenExpiresIn
	partsSeenStrictTTL
)

// partsField says where the value of field name goes in req.
func partsField(name string, req *multipartPartsRequest) flatField {
	switch name {
	case "bucket":
		return exactField(partsSeenBucket, &req.Bucket)
	case "key":
		return exactField(partsSeenKey, &req.Key)
	case "upload_id":
		return flatField{bit: partsSeenUploadID, text: &req.UploadID}
	case "part_numbers":
		return flatField{bit: partsSeenPartNumbers, ints: &req.PartNumbers}
	case "expires_in":
		return flatField{bit: partsSeenExpiresIn, num: &req.ExpiresIn}
	case "strict_ttl":
		return flatField{bit: partsSeenStrictTTL, flag: &req.StrictTTL}
	}
	return flatField{} // a name decodeBytes must judge
}

// Bits of the fields of a POST policy request parseFlat has seen.
const (
	postSeenBucket = 1 << iota
	postSeenKey
	postSeenKeyPrefix
	postSeenFilename
	postSeenExpiresIn
	postSeenStrictTTL
	postSeenContentType
	postSeenContentTypePrefix
	postSeenMaxContentLength
)

// postField says where the value of field name goes in req.
func postField(name string, req *postRequest) flatField {
	switch name {
	case "bucket":
		return exactField(postSeenBucket, &req.Bucket)
	case "key":
		return exactField(postSeenKey, &req.Key)
	case "key_prefix":
		return exactField(postSeenKeyPrefix, &req.KeyPrefix)
	case "filename":
		return exactField(postSeenFilename, &req.Filename)
	case "expires_in":
		return flatField{bit: postSeenExpiresIn, num: &req.ExpiresIn}
	case "strict_ttl":
		return flatField{bit: postSeenStrictTTL, flag: &req.StrictTTL}
	case "content_type":
		return flatField{bit: postSeenContentType, text: &req.ContentType}
	case "content_type_prefix":
		return flatField{bit: postSeenContentTypePrefix, optional: &req.ContentTypePrefix}
	case "max_content_length":
		return flatField{bit: postSeenMaxContentLength, num: &req.MaxContentLength}
	}
	return flatField{} // a name decodeBytes must judge
}
