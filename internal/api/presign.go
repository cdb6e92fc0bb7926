package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// DefaultExpiresIn is the lifetime asked for when a request names none.
const DefaultExpiresIn = 3600

// maxMetadataBytes is S3's limit on user-defined metadata (names and values).
const maxMetadataBytes = 2048

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

func (s *Server) handlePresign() http.Handler {
	return s.apiHandler("presign", func(w http.ResponseWriter, r *http.Request) error {
		c := callerFrom(r.Context())
		var req presignRequest
		if err := decode(w, r, maxBody, &req); err != nil {
			s.audit(r.Context(), c, "presign", auditEntry{}, err)
			return err
		}
		res, err := s.issue(r.Context(), c, "presign", &req)
		if err != nil {
			return err
		}
		encode(w, http.StatusOK, res)
		return nil
	})
}

// issue decides and signs one request, and records the decision in the metrics and
// the audit log whatever its outcome.
func (s *Server) issue(ctx context.Context, c *caller, op string, req *presignRequest) (*presignResponse, error) {
	start := time.Now()
	entry := auditEntry{bucket: req.Bucket.Value, key: req.Key.Value, method: strings.ToUpper(req.Method)}
	res, err := s.decideAndSign(ctx, c, req, &entry)
	s.metrics.duration.Observe(time.Since(start).Seconds())
	s.audit(ctx, c, op, entry, err)
	return res, err
}

func (s *Server) decideAndSign(ctx context.Context, c *caller, req *presignRequest, entry *auditEntry) (*presignResponse, error) {
	preq, sreq, err := req.toRequests()
	if err != nil {
		return nil, err
	}
	entry.method, entry.requestedTTL = preq.Method, preq.TTL

	st := s.state.Load()
	d, creds, err := s.decide(ctx, st, c, preq, entry)
	if err != nil {
		return nil, err
	}
	sreq.Expires = time.Duration(d.TTL) * time.Second
	sreq.Credentials = creds
	p, err := st.signer.Presign(ctx, sreq)
	if err != nil {
		return nil, err
	}
	return &presignResponse{
		URL:       p.URL,
		Method:    p.Method,
		ExpiresAt: p.ExpiresAt(),
		ExpiresIn: d.TTL,
		Headers:   p.Headers,
		CappedBy:  string(d.CappedBy),
	}, nil
}

// decide runs the policy for a request with the current credentials, refreshing
// them once when they are what caps the lifetime.
func (s *Server) decide(ctx context.Context, st *state, c *caller, preq policy.Request, entry *auditEntry) (policy.Decision, aws.Credentials, error) {
	creds, err := st.signer.Credentials(ctx)
	if err != nil {
		return policy.Decision{}, creds, &Error{Status: http.StatusServiceUnavailable, Code: CodeCredentialsUnavailable,
			Detail: "no usable signing credentials; try again shortly", Cause: err}
	}
	s.metrics.credentialsExpiry(creds)
	d, err := st.policy.Decide(c.name, preq, envFor(s.now(), creds.CanExpire, creds.Expires))
	if d.CappedBy == policy.CapCredentials || isCredentialsError(err) {
		if fresh, refreshed, rerr := st.signer.Refresh(ctx); refreshed && rerr == nil {
			s.metrics.credentialsExpiry(fresh)
			creds = fresh
			d, err = st.policy.Decide(c.name, preq, envFor(s.now(), creds.CanExpire, creds.Expires))
		}
	}
	entry.cappedBy = d.CappedBy
	if err == nil {
		entry.expiresIn = d.TTL
		if d.CappedBy != policy.CapNone {
			s.metrics.ttlCapped.WithLabelValues(string(d.CappedBy)).Inc()
		}
	}
	return d, creds, err
}

func envFor(now time.Time, expires bool, expiry time.Time) policy.Env {
	return policy.Env{Now: now, CredentialsExpire: expires, CredentialsExpiry: expiry}
}

func isCredentialsError(err error) bool {
	var ce *policy.CredentialsError
	return errors.As(err, &ce)
}

func (req *presignRequest) checkText() error {
	switch {
	case req.Key.Lossy:
		return &policy.InvalidError{Field: policy.FieldKey, Detail: "key is not valid UTF-8 (it holds bytes or escapes that are not UTF-8)"}
	case req.Bucket.Lossy:
		return &policy.InvalidError{Field: policy.FieldBucket, Detail: "bucket is not valid UTF-8"}
	}
	return nil
}

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
	sr := signer.Request{
		Bucket: pr.Bucket, Key: pr.Key, Method: method, ContentLength: -1,
		VersionID:                  req.VersionID,
		ContentType:                req.ContentType,
		ChecksumSHA256:             req.ChecksumSHA256,
		ResponseContentDisposition: req.ResponseContentDisposition,
		ResponseContentType:        req.ResponseContentType,
		ResponseCacheControl:       req.ResponseCacheControl,
	}
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
			return none, signer.Request{}, fieldErr(f.name, "applies only to %s", f.methods)
		}
	}
	for name, v := range map[string]string{
		"version_id":                   req.VersionID,
		"content_type":                 req.ContentType,
		"response_content_disposition": req.ResponseContentDisposition,
		"response_content_type":        req.ResponseContentType,
		"response_cache_control":       req.ResponseCacheControl,
	} {
		if !headerSafe(v) {
			return none, signer.Request{}, fieldErr(name, "must be printable ASCII of at most 1024 characters")
		}
	}
	if req.ContentLength != nil {
		// A length of 0 is never signed (S3 clients send no Content-Length, and no
		// Content-Type, for an empty body), so such a URL would bind no size at all.
		if *req.ContentLength < 1 || *req.ContentLength > 5<<40 {
			return none, signer.Request{}, fieldErr("content_length", "must be between 1 byte and 5 TiB (leave it out for an empty object)")
		}
		pr.ContentLength, sr.ContentLength = *req.ContentLength, *req.ContentLength
	}
	if req.ChecksumSHA256 != "" {
		// Exactly 44 characters: the decoder would skip line breaks that the header cannot carry.
		if b, err := base64.StdEncoding.DecodeString(req.ChecksumSHA256); err != nil || len(b) != 32 || len(req.ChecksumSHA256) != 44 {
			return none, signer.Request{}, fieldErr("checksum_sha256", "must be the base64 of a 32-byte SHA-256 digest")
		}
	}
	if len(req.Metadata) > 0 {
		md, err := checkMetadata(req.Metadata)
		if err != nil {
			return none, signer.Request{}, err
		}
		sr.Metadata = md
	}
	if req.DownloadFilename != "" {
		if req.ResponseContentDisposition != "" {
			return none, signer.Request{}, fieldErr("download_filename", "cannot be combined with response_content_disposition")
		}
		cd, err := signer.AttachmentDisposition(req.DownloadFilename)
		if err != nil {
			return none, signer.Request{}, fieldErr("download_filename", "%s", err)
		}
		sr.ResponseContentDisposition = cd
	}
	return pr, sr, nil
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
	if size > maxMetadataBytes {
		return nil, fieldErr("metadata", "is %d bytes, above S3's limit of %d", size, maxMetadataBytes)
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
