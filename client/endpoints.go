package client

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// The request and answer types follow openapi.yaml's schemas field for field. Optional
// fields are left out of a request when they hold their zero value, or are pointers where
// zero means something.

// Request asks for one pre-signed URL (PresignRequest). Only Bucket and Key are required;
// fields that do not apply to the method are refused by presignd.
type Request struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Method is GET (the default), PUT, HEAD or DELETE.
	Method string `json:"method,omitempty"`
	// ExpiresIn is the requested lifetime in seconds; presignd's default is 3600.
	ExpiresIn int64 `json:"expires_in,omitempty"`
	// StrictTTL refuses (422 ttl_not_satisfiable) instead of shortening the lifetime.
	StrictTTL bool `json:"strict_ttl,omitempty"`
	// VersionID is for GET, HEAD and DELETE.
	VersionID string `json:"version_id,omitempty"`
	// ContentType, ContentLength, ChecksumSHA256 and Metadata are for PUT; each is signed
	// and comes back in Response.Headers.
	ContentType    string            `json:"content_type,omitempty"`
	ContentLength  *int64            `json:"content_length,omitempty"`
	ChecksumSHA256 string            `json:"checksum_sha256,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	// The response overrides are for GET and HEAD.
	ResponseContentDisposition string `json:"response_content_disposition,omitempty"`
	ResponseContentType        string `json:"response_content_type,omitempty"`
	ResponseCacheControl       string `json:"response_cache_control,omitempty"`
	DownloadFilename           string `json:"download_filename,omitempty"`
}

// Response is a pre-signed URL and what must be sent with it (PresignResponse).
type Response struct {
	// URL is a bearer secret until it expires: do not log it.
	URL       string    `json:"url"`
	Method    string    `json:"method"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
	// Headers are every header the request with URL must carry, by canonical name.
	Headers map[string]string `json:"headers"`
	// CappedBy names the limit that shortened the lifetime (policy, s3_max or
	// credentials); empty when it was not shortened.
	CappedBy string `json:"capped_by,omitempty"`
}

// Presign asks for one URL (POST /v1/presign).
func (c *Client) Presign(ctx context.Context, req Request) (*Response, error) {
	var res Response
	if err := c.post(ctx, "/v1/presign", true, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// BatchRequest is the body of POST /v1/presign/batch: 1 to 1000 requests.
type BatchRequest struct {
	Requests []Request `json:"requests"`
}

// BatchResponse holds one result per request, in order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is one item's answer: either Response or Error is set.
type BatchResult struct {
	Response *Response
	// Error is the problem the item would have had alone.
	Error *Problem
}

// UnmarshalJSON reads either a PresignResponse or {"error": Problem}.
func (r *BatchResult) UnmarshalJSON(data []byte) error {
	var e struct {
		Error *Problem `json:"error"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	if e.Error != nil {
		*r = BatchResult{Error: e.Error}
		return nil
	}
	var res Response
	if err := json.Unmarshal(data, &res); err != nil {
		return err
	}
	if res.URL == "" {
		return errors.New("a batch result holds neither a URL nor an error")
	}
	*r = BatchResult{Response: &res}
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(struct {
			Error *Problem `json:"error"`
		}{r.Error})
	}
	return json.Marshal(r.Response)
}

// PresignBatch asks for up to 1000 URLs at once (POST /v1/presign/batch). One bad item
// fails only itself, in its BatchResult; the error is for the call as a whole.
func (c *Client) PresignBatch(ctx context.Context, reqs []Request) ([]BatchResult, error) {
	var res BatchResponse
	if err := c.post(ctx, "/v1/presign/batch", true, BatchRequest{Requests: reqs}, &res); err != nil {
		return nil, err
	}
	return res.Results, nil
}

// PostPolicyRequest asks for a browser form upload: exactly one of Key and KeyPrefix.
type PostPolicyRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key,omitempty"`
	// KeyPrefix lets presignd name the object: the prefix, 26 random characters and
	// "/"+Filename when Filename is given. The key is returned in PostPolicyResponse.Key.
	KeyPrefix string `json:"key_prefix,omitempty"`
	Filename  string `json:"filename,omitempty"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
	StrictTTL bool   `json:"strict_ttl,omitempty"`
	// ContentType is the exact Content-Type the upload must have.
	ContentType string `json:"content_type,omitempty"`
	// Deprecated: presignd refuses content_type_prefix (400 invalid_request), because a
	// prefix match lets an uploader append a second type; use ContentType.
	ContentTypePrefix string `json:"content_type_prefix,omitempty"`
	// MaxContentLength is the largest upload the form accepts, 0 to 5 GiB; nil leaves it
	// to the grant.
	MaxContentLength *int64 `json:"max_content_length,omitempty"`
}

// PostPolicyResponse is a signed form: post Fields, then the file as the last field
// ("file"), to URL.
type PostPolicyResponse struct {
	URL       string            `json:"url"`
	Key       string            `json:"key"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	CappedBy  string            `json:"capped_by,omitempty"`
}

// PresignPost signs an S3 POST policy (POST /v1/presign/post).
func (c *Client) PresignPost(ctx context.Context, req PostPolicyRequest) (*PostPolicyResponse, error) {
	var res PostPolicyResponse
	if err := c.post(ctx, "/v1/presign/post", true, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MultipartCreateRequest starts a multipart upload.
type MultipartCreateRequest struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	ContentType string `json:"content_type,omitempty"`
	// ContentLength is the declared total size, 5 MiB to 5 TiB; required by grants with a
	// max_content_length. Each part URL then signs its part's exact size.
	ContentLength *int64 `json:"content_length,omitempty"`
	// PartSize is the size of every part but the last (needs ContentLength); 0 lets
	// presignd choose.
	PartSize int64 `json:"part_size,omitempty"`
}

// MultipartCreateResponse names the upload. UploadID is presignd's sealed handle, to be
// given back with the same bucket and key in every later multipart call.
type MultipartCreateResponse struct {
	UploadID string `json:"upload_id"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	// PartSize and PartCount are 0 when no size was declared.
	PartSize  int64 `json:"part_size,omitempty"`
	PartCount int   `json:"part_count,omitempty"`
}

// CreateMultipart starts a multipart upload (POST /v1/multipart/create). It is the one
// call not repeated after a connection error that may have reached presignd; see [Retry].
func (c *Client) CreateMultipart(ctx context.Context, req MultipartCreateRequest) (*MultipartCreateResponse, error) {
	var res MultipartCreateResponse
	if err := c.post(ctx, "/v1/multipart/create", false, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MultipartPartsRequest asks for UploadPart URLs: 1 to 1000 part numbers, no repeats.
type MultipartPartsRequest struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	UploadID    string `json:"upload_id"`
	PartNumbers []int  `json:"part_numbers"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
	StrictTTL   bool   `json:"strict_ttl,omitempty"`
}

// MultipartPartsResponse holds the part URLs in the order asked.
type MultipartPartsResponse struct {
	Parts     []PartURL `json:"parts"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
	CappedBy  string    `json:"capped_by,omitempty"`
}

// PartURL is a PUT URL for one part. S3 answers the PUT with the part's ETag, which
// [Client.CompleteMultipart] needs.
type PartURL struct {
	PartNumber int    `json:"part_number"`
	URL        string `json:"url"`
	// Size is the exact byte count the URL signs; 0 when the upload declared no size.
	Size    int64             `json:"size,omitempty"`
	Headers map[string]string `json:"headers"`
}

// SignParts signs UploadPart URLs (POST /v1/multipart/parts).
func (c *Client) SignParts(ctx context.Context, req MultipartPartsRequest) (*MultipartPartsResponse, error) {
	var res MultipartPartsResponse
	if err := c.post(ctx, "/v1/multipart/parts", true, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MultipartCompleteRequest lists the uploaded parts in ascending part number order.
type MultipartCompleteRequest struct {
	Bucket   string          `json:"bucket"`
	Key      string          `json:"key"`
	UploadID string          `json:"upload_id"`
	Parts    []CompletedPart `json:"parts"`
}

// CompletedPart is an uploaded part and the ETag S3 answered for it.
type CompletedPart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
}

// MultipartCompleteResponse describes the stored object.
type MultipartCompleteResponse struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// CompleteMultipart completes an upload (POST /v1/multipart/complete). When the parts add
// up to more than was declared or granted, presignd aborts the upload and answers 403
// content_length_too_large.
func (c *Client) CompleteMultipart(ctx context.Context, req MultipartCompleteRequest) (*MultipartCompleteResponse, error) {
	var res MultipartCompleteResponse
	if err := c.post(ctx, "/v1/multipart/complete", true, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MultipartAbortRequest names the upload to abort.
type MultipartAbortRequest struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
}

// MultipartAbortResponse is presignd's answer to an abort; Aborted is always true.
type MultipartAbortResponse struct {
	Aborted bool `json:"aborted"`
}

// AbortMultipart aborts an upload, dropping its parts (POST /v1/multipart/abort).
func (c *Client) AbortMultipart(ctx context.Context, req MultipartAbortRequest) error {
	var res MultipartAbortResponse
	if err := c.post(ctx, "/v1/multipart/abort", true, req, &res); err != nil {
		return err
	}
	if !res.Aborted {
		return errors.New("presignd answered the abort without confirming it")
	}
	return nil
}

// Explanation is presignd's policy decision on a request, made without signing anything.
type Explanation struct {
	Allowed bool `json:"allowed"`
	// Client is the caller's client name.
	Client string `json:"client"`
	// Grant is the grant that matched, or nil.
	Grant *ExplainedGrant `json:"grant,omitempty"`
	// ExpiresIn is the effective lifetime when allowed.
	ExpiresIn int64  `json:"expires_in,omitempty"`
	CappedBy  string `json:"capped_by,omitempty"`
	// Limits holds every limit that applied, in seconds, by cause (policy, s3_max,
	// credentials).
	Limits map[string]int64 `json:"limits,omitempty"`
	// Code, Reason and Detail say why not, when not allowed: the problem POST /v1/presign
	// would answer.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// ExplainedGrant is the grant an [Explanation] matched.
type ExplainedGrant struct {
	// Index is the grant's position in the client's grants.
	Index  int    `json:"index"`
	Bucket string `json:"bucket"`
	// Prefix is the prefix the key sits under, placeholders expanded.
	Prefix  string   `json:"prefix"`
	Methods []string `json:"methods"`
	// MaxTTL is the grant's max_ttl in seconds.
	MaxTTL int64 `json:"max_ttl"`
}

// Explain dry-runs the policy on req for the caller (POST /v1/explain). A denial is an
// Explanation with Allowed false, not an error.
func (c *Client) Explain(ctx context.Context, req Request) (*Explanation, error) {
	var res Explanation
	if err := c.post(ctx, "/v1/explain", true, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Whoami is who presignd takes the caller to be, and what it may have.
type Whoami struct {
	// Client is the configured client the caller's principal maps to.
	Client    string    `json:"client"`
	Principal Principal `json:"principal"`
	// Grants are the client's grants, their prefix placeholders filled for this caller;
	// a prefix the caller cannot fill is left out.
	Grants []Grant `json:"grants"`
	// MaxExpiresIn is the longest lifetime, in seconds, a URL could get now.
	MaxExpiresIn int64 `json:"max_expires_in"`
}

// Principal is how the caller was identified.
type Principal struct {
	// Kind is "token", "jwt", "mtls" (a client certificate) or "proxy".
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	// Issuer is the configured name of a JWT's issuer.
	Issuer string `json:"issuer,omitempty"`
	// Groups are a trusted proxy's groups for its user.
	Groups []string `json:"groups,omitempty"`
}

// Grant is what the caller may have in one bucket.
type Grant struct {
	Bucket   string   `json:"bucket"`
	Prefixes []string `json:"prefixes"`
	Methods  []string `json:"methods"`
	// MaxTTL is the grant's max_ttl in seconds.
	MaxTTL int64 `json:"max_ttl"`
	// MaxContentLength bounds an upload's size in bytes; 0 when the grant sets none.
	MaxContentLength int64 `json:"max_content_length,omitempty"`
	// ContentTypes are the media types an upload may declare; empty when any.
	ContentTypes []string `json:"content_types,omitempty"`
}

// Whoami asks who the caller is and what it may have (GET /v1/whoami).
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var res Whoami
	if err := c.get(ctx, "/v1/whoami", &res); err != nil {
		return nil, err
	}
	return &res, nil
}
