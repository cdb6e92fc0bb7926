package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// Uppy's @uppy/aws-s3 plugin, companionEndpoint mode: Uppy Companion's S3 routes under
// /v1/uppy/s3/, with Companion's JSON shapes, on presignd's POST policies and
// multipart uploads (and so their size checks). The plugin calls them with a plain
// fetch: no custom header, cookies only to its own origin. They authenticate like
// every /v1 route, which in a browser means presignd behind the sign-on proxy on the
// page's own origin (identity.trusted_proxies).

// uppyParamsRequest is GET /v1/uppy/s3/params?filename=&type=&metadata[NAME]=.
type uppyParamsRequest struct {
	Filename    string
	ContentType string
}

// uppyParamsResponse is Companion's answer: a POST policy.
type uppyParamsResponse struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Fields  map[string]string `json:"fields"`
	Headers map[string]string `json:"headers"`
}

func decodeUppyParams(_ http.ResponseWriter, r *http.Request, req *uppyParamsRequest) error {
	q := r.URL.Query()
	if !q.Has("filename") {
		return requiredErr("filename")
	}
	req.Filename, req.ContentType = q.Get("filename"), q.Get("type")
	return nil
}

func (s *Server) uppyParams(ctx context.Context, c *caller, req *uppyParamsRequest, e *auditEntry) (*uppyParamsResponse, error) {
	pp, err := s.uppyPost(ctx, c, req.Filename, req.ContentType, nil, e)
	if err != nil {
		return nil, err
	}
	return &uppyParamsResponse{Method: http.MethodPost, URL: pp.URL, Fields: pp.Fields, Headers: map[string]string{}}, nil
}

// uppyCreateRequest is POST /v1/uppy/s3/multipart.
type uppyCreateRequest struct {
	Filename exactString                `json:"filename"`
	Type     string                     `json:"type"`
	Metadata map[string]json.RawMessage `json:"metadata"`
}

func (req *uppyCreateRequest) checkText() error {
	if req.Filename.Lossy {
		return &policy.InvalidError{Field: policy.FieldKey, Detail: "filename is not valid UTF-8"}
	}
	return nil
}

type uppyCreateResponse struct {
	Key      string `json:"key"`
	UploadID string `json:"uploadId"`
	Bucket   string `json:"bucket"`
}

// uppyChunkSize is the part size @uppy/aws-s3 cuts a file of the given size into
// when the app sets no getChunkSize: ceil(size/10000), at least 5 MiB
// (S3Uploader.ts). Parts signed for this size hold the plugin's parts exactly.
func uppyChunkSize(size int64) int64 {
	return max((size+signer.MaxParts-1)/signer.MaxParts, signer.MinPartSize)
}

// declaredSize reads the file's size from the upload's metadata ("size", a number or
// a decimal string), which the plugin sends when the app puts the size in the file's
// meta; -1 when absent.
func declaredSize(md map[string]json.RawMessage) (int64, error) {
	raw, ok := md["size"]
	if !ok || string(raw) == "null" {
		return -1, nil
	}
	text := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return 0, fieldErr("metadata.size", "must be the file's size in bytes")
	}
	return n, nil
}

// uppyCreate starts a multipart upload at the placed key. A size in the metadata is
// declared: the upload is sealed to it and every part URL signs its part's exact
// Content-Length, cut as the plugin cuts. Without one the upload binds no size, which
// only a grant without max_content_length allows.
func (s *Server) uppyCreate(ctx context.Context, c *caller, req *uppyCreateRequest, e *auditEntry) (*uppyCreateResponse, error) {
	if !req.Filename.Set {
		return nil, requiredErr("filename")
	}
	loc, key, err := s.placeUpload(ctx, c, req.Filename.Value, e)
	if err != nil {
		return nil, err
	}
	size, err := declaredSize(req.Metadata)
	if err != nil {
		return nil, err
	}
	mreq := &multipartCreateRequest{
		Bucket:      exactString{Value: loc.Bucket, Set: true},
		Key:         exactString{Value: key, Set: true},
		ContentType: req.Type,
	}
	if size >= 0 {
		part := uppyChunkSize(size)
		mreq.ContentLength, mreq.PartSize = &size, &part
	}
	res, err := s.multipartCreate(ctx, c, mreq, e)
	if err != nil {
		var de *policy.DeniedError
		if size < 0 && errors.As(err, &de) && de.Reason == policy.ReasonContentLengthRequired {
			de.Detail += "; put the file's size in its meta (uppy.setFileMeta(file.id, {size: file.size})) " +
				"so the upload can be held to it, or set shouldUseMultipart: false"
		}
		return nil, err
	}
	return &uppyCreateResponse{Key: res.Key, UploadID: res.UploadID, Bucket: res.Bucket}, nil
}

// uppyUploadRequest names an upload: {uploadId} in the path, ?key= in the query.
type uppyUploadRequest struct {
	UploadID    string
	Key         string
	PartNumbers []int32
	Parts       []completedPart
}

func decodeUppyUpload(r *http.Request, req *uppyUploadRequest) error {
	req.UploadID = chi.URLParam(r, "uploadId")
	if id, err := url.PathUnescape(req.UploadID); err == nil {
		req.UploadID = id
	}
	q := r.URL.Query()
	if !q.Has("key") {
		return requiredErr("key")
	}
	req.Key = q.Get("key")
	return nil
}

func decodeUppyPart(_ http.ResponseWriter, r *http.Request, req *uppyUploadRequest) error {
	if err := decodeUppyUpload(r, req); err != nil {
		return err
	}
	n, err := strconv.ParseInt(chi.URLParam(r, "partNumber"), 10, 32)
	if err != nil {
		return fieldErr("partNumber", "must be a part number from 1 to %d", signer.MaxParts)
	}
	req.PartNumbers = []int32{int32(n)}
	return nil
}

func decodeUppyBatch(_ http.ResponseWriter, r *http.Request, req *uppyUploadRequest) error {
	if err := decodeUppyUpload(r, req); err != nil {
		return err
	}
	list := r.URL.Query().Get("partNumbers")
	if list == "" {
		return requiredErr("partNumbers")
	}
	for item := range strings.SplitSeq(list, ",") {
		n, err := strconv.ParseInt(item, 10, 32)
		if err != nil {
			return fieldErr("partNumbers", "must be a comma-separated list of part numbers")
		}
		req.PartNumbers = append(req.PartNumbers, int32(n))
		if len(req.PartNumbers) > maxPartsPerCall {
			return fieldErr("partNumbers", "lists more than %d parts", maxPartsPerCall)
		}
	}
	return nil
}

func decodeUppyUploadOnly(_ http.ResponseWriter, r *http.Request, req *uppyUploadRequest) error {
	return decodeUppyUpload(r, req)
}

// uppyCompleteBody is the body of POST …/complete.
type uppyCompleteBody struct {
	Parts []struct {
		PartNumber int32  `json:"PartNumber"`
		ETag       string `json:"ETag"`
	} `json:"parts"`
}

func decodeUppyComplete(w http.ResponseWriter, r *http.Request, req *uppyUploadRequest) error {
	if err := decodeUppyUpload(r, req); err != nil {
		return err
	}
	var body uppyCompleteBody
	if err := decode(w, r, maxBatchBody, &body); err != nil {
		return err
	}
	for _, p := range body.Parts {
		req.Parts = append(req.Parts, completedPart{PartNumber: p.PartNumber, ETag: p.ETag})
	}
	return nil
}

// multipartRequest is the upload's bucket and key as the multipart calls take them,
// once the key is checked to lie under the caller's upload location.
func (s *Server) uppyUpload(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (exactString, exactString, error) {
	loc, err := s.checkPlacedKey(ctx, c, req.Key, e)
	if err != nil {
		return exactString{}, exactString{}, err
	}
	return exactString{Value: loc.Bucket, Set: true}, exactString{Value: req.Key, Set: true}, nil
}

type uppyPartResponse struct {
	URL     string `json:"url"`
	Expires int64  `json:"expires"`
}

func (s *Server) uppyPartURLs(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (*multipartPartsResponse, error) {
	bucket, key, err := s.uppyUpload(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	return s.multipartParts(ctx, c, &multipartPartsRequest{Bucket: bucket, Key: key, UploadID: req.UploadID, PartNumbers: req.PartNumbers}, e)
}

// uppySignPart is GET multipart/{uploadId}/{partNumber}: {url, expires}. The URL signs
// the part's Content-Length, which the browser sets from the body itself.
func (s *Server) uppySignPart(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (*uppyPartResponse, error) {
	res, err := s.uppyPartURLs(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	return &uppyPartResponse{URL: res.Parts[0].URL, Expires: res.ExpiresIn}, nil
}

type uppyBatchResponse struct {
	PresignedURLs map[string]string `json:"presignedUrls"`
}

// uppyBatch is GET multipart/{uploadId}/batch?partNumbers=1,2: {presignedUrls}.
func (s *Server) uppyBatch(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (*uppyBatchResponse, error) {
	res, err := s.uppyPartURLs(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	out := &uppyBatchResponse{PresignedURLs: make(map[string]string, len(res.Parts))}
	for _, p := range res.Parts {
		out.PresignedURLs[strconv.Itoa(int(p.PartNumber))] = p.URL
	}
	return out, nil
}

// uppyPart is one part in Companion's list: S3's ListParts names.
type uppyPart struct {
	PartNumber int32  `json:"PartNumber"`
	ETag       string `json:"ETag"`
	Size       int64  `json:"Size"`
}

// uppyListParts is GET multipart/{uploadId}: the parts S3 holds, from a ListParts call.
func (s *Server) uppyListParts(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) ([]uppyPart, error) {
	bucket, key, err := s.uppyUpload(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	h, err := s.openUploadRequest(c, bucket, key, req.UploadID, e)
	if err != nil {
		return nil, err
	}
	st := s.state.Load()
	if _, err := s.decideOnUpload(ctx, st, c, h, e); err != nil {
		return nil, err
	}
	sctx, cancel := st.s3Calls(ctx)
	defer cancel()
	parts, err := st.signer.ListParts(sctx, e.bucket, e.key, h.UploadID)
	if err != nil {
		return nil, s3Problem(err)
	}
	out := make([]uppyPart, len(parts))
	for i, p := range parts {
		out[i] = uppyPart{PartNumber: p.Number, ETag: p.ETag, Size: p.Size}
	}
	return out, nil
}

type uppyCompleteResponse struct {
	Location string `json:"location"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
}

// uppyComplete is POST multipart/{uploadId}/complete. location is presignd's link to
// the object (GET /v1/objects/…), which redirects an allowed caller to a fresh URL.
func (s *Server) uppyComplete(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (*uppyCompleteResponse, error) {
	bucket, key, err := s.uppyUpload(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	res, err := s.multipartComplete(ctx, c, &multipartCompleteRequest{Bucket: bucket, Key: key, UploadID: req.UploadID, Parts: req.Parts}, e)
	if err != nil {
		return nil, err
	}
	return &uppyCompleteResponse{Location: objectsPrefix + res.Bucket + "/" + escapeKeyPath(res.Key), Bucket: res.Bucket, Key: res.Key}, nil
}

// escapeKeyPath escapes each segment of a key for a URL path.
func escapeKeyPath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

type uppyAbortResponse struct{}

// uppyAbort is DELETE multipart/{uploadId}: {}.
func (s *Server) uppyAbort(ctx context.Context, c *caller, req *uppyUploadRequest, e *auditEntry) (*uppyAbortResponse, error) {
	bucket, key, err := s.uppyUpload(ctx, c, req, e)
	if err != nil {
		return nil, err
	}
	if _, err := s.multipartAbort(ctx, c, &multipartAbortRequest{Bucket: bucket, Key: key, UploadID: req.UploadID}, e); err != nil {
		return nil, err
	}
	return &uppyAbortResponse{}, nil
}
