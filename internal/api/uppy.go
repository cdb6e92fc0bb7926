package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// Uppy's @uppy/aws-s3 plugin, signRequest mode: POST /v1/uppy/sign takes the request
// object the plugin hands its signRequest function and answers the PresignedResponse
// it expects, {url, key?, headers?, fields?}. Uploads land under the client's upload
// location (uploads: {bucket, prefix}), and every answer is a decision of the policy
// like any other.

// uppyPrefix starts every Uppy route; their errors carry a message member (errors.go).
const uppyPrefix = "/v1/uppy/"

// uppySignRequest is @uppy/aws-s3's PresignableRequest (src/s3-client/types.ts).
type uppySignRequest struct {
	Method      string      `json:"method"`
	Key         exactString `json:"key"`
	UploadID    *string     `json:"uploadId"`
	PartNumber  *int64      `json:"partNumber"`
	ContentType *string     `json:"contentType"`
	ExpiresIn   *int64      `json:"expiresIn"`
}

func (req *uppySignRequest) checkText() error { return lossyText(req.Key.Lossy, false) }

// uppySignResponse is @uppy/aws-s3's PresignedResponse.
type uppySignResponse struct {
	URL     string            `json:"url"`
	Key     string            `json:"key,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// uppyOperation is an Uppy route with a JSON answer; decode reads its request.
func uppyOperation[Req, Res any](name string, decode func(w http.ResponseWriter, r *http.Request, req *Req) error,
	do func(ctx context.Context, c *caller, req *Req, e *auditEntry) (Res, error)) *operation[Req, Res] {
	return &operation[Req, Res]{
		name:   name,
		method: policy.MethodPut,
		decode: decode,
		do:     do,
		write:  func(w http.ResponseWriter, res Res) { encode(w, http.StatusOK, res) },
	}
}

func decodeJSONBody[Req any](w http.ResponseWriter, r *http.Request, req *Req) error {
	return decode(w, r, maxBody, req)
}

// uploadLocation is the caller's upload location, its prefix expanded.
func (s *Server) uploadLocation(ctx context.Context, st *state, c *caller) (policy.UploadLocation, error) {
	return st.policy.UploadLocationFor(c.name, principalFrom(ctx).Attributes())
}

// uppySign answers one request of the plugin. A PutObject is answered with a POST
// policy, so that S3 itself holds the upload to the grant's size and type
// (content-length-range and the exact Content-Type).
//
// In this mode the plugin creates and completes a multipart upload itself, with URLs
// signed for S3's own calls, and tells presignd neither the file's size nor its type.
// So multipart is offered only under a grant that limits neither: under any other,
// the multipart requests are refused (422 multipart_not_offered), and the app sets
// shouldUseMultipart: false or uses companionEndpoint mode (/v1/uppy/s3/…), whose
// multipart uploads presignd holds to their declared size.
func (s *Server) uppySign(ctx context.Context, c *caller, req *uppySignRequest, e *auditEntry) (*uppySignResponse, error) {
	e.method, e.key = strings.ToUpper(req.Method), req.Key.Value
	switch {
	case req.Method == "":
		return nil, requiredErr("method")
	case !req.Key.Set:
		return nil, requiredErr("key")
	case req.ExpiresIn != nil && *req.ExpiresIn < 1:
		return nil, &policy.InvalidError{Field: policy.FieldExpiresIn, Detail: "expiresIn must be at least 1 second"}
	case req.UploadID != nil && !headerSafe(*req.UploadID):
		return nil, fieldErr("uploadId", "must be printable ASCII of at most 1024 characters")
	case req.UploadID != nil && *req.UploadID == "":
		return nil, fieldErr("uploadId", "must not be empty")
	case req.PartNumber != nil && (*req.PartNumber < 1 || *req.PartNumber > signer.MaxParts):
		return nil, fieldErr("partNumber", "must be between 1 and %d", signer.MaxParts)
	case req.PartNumber != nil && (req.UploadID == nil || req.Method != http.MethodPut):
		return nil, fieldErr("partNumber", "goes with method PUT and an uploadId (UploadPart)")
	}
	hasID := req.UploadID != nil
	var call signer.UploadCall
	switch {
	case req.Method == http.MethodPut && !hasID:
		return s.uppyPutObject(ctx, c, req, e)
	case req.Method == http.MethodPut && req.PartNumber != nil:
		return s.uppyMultipart(ctx, c, req, "", e)
	case req.Method == http.MethodPut:
		return nil, requiredErr("partNumber")
	case req.Method == http.MethodPost && !hasID:
		call = signer.CallCreateMultipartUpload
	case req.Method == http.MethodPost:
		call = signer.CallCompleteMultipartUpload
	case req.Method == http.MethodGet && hasID:
		call = signer.CallListParts
	case req.Method == http.MethodDelete && hasID:
		call = signer.CallAbortMultipartUpload
	case req.Method == http.MethodGet:
		return nil, requiredErr("uploadId")
	case req.Method == http.MethodDelete:
		return nil, errorf(CodeInvalidMethod, "presignd does not sign DeleteObject for Uppy: the widget deletes no uploads")
	default:
		return nil, errorf(CodeInvalidMethod, "method %q is not one Uppy sends (PUT, POST, GET, DELETE)", clipString(req.Method))
	}
	return s.uppyMultipart(ctx, c, req, call, e)
}

// uppyMultipart signs a multipart request of the plugin: UploadPart when call is
// empty, else the call. The key of CreateMultipartUpload is placed; the others carry
// the placed key, which must lie under the caller's upload location.
func (s *Server) uppyMultipart(ctx context.Context, c *caller, req *uppySignRequest, call signer.UploadCall, e *auditEntry) (*uppySignResponse, error) {
	var (
		loc policy.UploadLocation
		key = req.Key.Value
		err error
	)
	if call == signer.CallCreateMultipartUpload {
		loc, key, err = s.placeUpload(ctx, c, key, e)
	} else {
		loc, err = s.checkPlacedKey(ctx, c, key, e)
	}
	if err != nil {
		return nil, err
	}
	st := s.state.Load()
	preq := policy.Request{Bucket: loc.Bucket, Key: key, Method: policy.MethodPut, TTL: ttlOrDefault(req.ExpiresIn), ContentLength: -1}
	e.requestedTTL = preq.TTL
	d, creds, err := s.decide(ctx, st, c, preq, e)
	var de *policy.DeniedError
	if errors.As(err, &de) && (de.Reason == policy.ReasonContentLengthRequired || de.Reason == policy.ReasonContentTypeRequired) {
		return nil, errorf(CodeMultipartNotOffered,
			"presignd does not sign multipart uploads in signRequest mode under a grant that limits size or type: the plugin "+
				"would create and complete the upload itself, and nothing would hold it to the grant. Set shouldUseMultipart: false "+
				"(files up to 5 GiB go in one POST that S3 checks), or use companionEndpoint mode, whose multipart uploads presignd "+
				"holds to their size")
	}
	if err != nil {
		return nil, err
	}
	expires := time.Duration(d.TTL) * time.Second
	if call == "" {
		parts, _, err := st.signer.PresignParts(ctx, signer.PartRequest{Bucket: loc.Bucket, Key: key, UploadID: *req.UploadID,
			PartNumbers: []int32{int32(*req.PartNumber)}, Expires: expires, Credentials: creds})
		if err != nil {
			return nil, err
		}
		return &uppySignResponse{URL: parts[0].URL, Headers: sendable(parts[0].Headers)}, nil
	}
	uploadID := ""
	if req.UploadID != nil {
		uploadID = *req.UploadID
	}
	p, err := st.signer.PresignUploadCall(ctx, signer.UploadCallRequest{Call: call, Bucket: loc.Bucket, Key: key, UploadID: uploadID,
		Expires: expires, Credentials: creds})
	if err != nil {
		return nil, err
	}
	res := &uppySignResponse{URL: p.URL, Headers: sendable(p.Headers)}
	if call == signer.CallCreateMultipartUpload {
		res.Key = key
	}
	return res, nil
}

// sendable is headers without those a browser sets itself (Content-Length), which
// the plugin must not be given; nil when none is left.
func sendable(h map[string]string) map[string]string {
	var out map[string]string
	for k, v := range h {
		if k == "Content-Length" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// uppyPutObject places the proposed key and signs a POST policy for it.
func (s *Server) uppyPutObject(ctx context.Context, c *caller, req *uppySignRequest, e *auditEntry) (*uppySignResponse, error) {
	contentType := ""
	if req.ContentType != nil {
		contentType = *req.ContentType
	}
	pp, err := s.uppyPost(ctx, c, req.Key.Value, contentType, req.ExpiresIn, e)
	if err != nil {
		return nil, err
	}
	return &uppySignResponse{URL: pp.URL, Key: pp.Key, Fields: pp.Fields}, nil
}

// uppyPost places name under the caller's upload location and signs a POST policy
// for exactly that key, held to the grant's size and to contentType.
func (s *Server) uppyPost(ctx context.Context, c *caller, name, contentType string, expiresIn *int64, e *auditEntry) (*postResponse, error) {
	loc, key, err := s.placeUpload(ctx, c, name, e)
	if err != nil {
		return nil, err
	}
	return s.presignPost(ctx, c, &postRequest{
		Bucket:      exactString{Value: loc.Bucket, Set: true},
		Key:         exactString{Value: key, Set: true},
		ExpiresIn:   expiresIn,
		ContentType: contentType,
	}, e)
}

// placeUpload places a proposed name under the caller's upload location.
func (s *Server) placeUpload(ctx context.Context, c *caller, name string, e *auditEntry) (policy.UploadLocation, string, error) {
	e.key = name
	loc, err := s.uploadLocation(ctx, s.state.Load(), c)
	if err != nil {
		return loc, "", err
	}
	e.bucket = loc.Bucket
	key, err := policy.PlaceKey(loc.Prefix, name)
	if err != nil {
		return loc, "", err
	}
	e.key = key
	return loc, key, nil
}

// checkPlacedKey checks a key the widget sends back after it was placed: it must lie
// under the caller's upload location.
func (s *Server) checkPlacedKey(ctx context.Context, c *caller, key string, e *auditEntry) (policy.UploadLocation, error) {
	e.key = key
	loc, err := s.uploadLocation(ctx, s.state.Load(), c)
	if err != nil {
		return loc, err
	}
	e.bucket = loc.Bucket
	if key == "" {
		return loc, requiredErr("key")
	}
	if !policy.UnderPrefix(loc.Prefix, key) {
		return loc, &policy.DeniedError{Reason: policy.ReasonPrefixNotAllowed, Detail: "key is not under the caller's upload location"}
	}
	return loc, nil
}
