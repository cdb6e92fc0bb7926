package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/presignd/presignd/internal/policy"
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

func (req *uppySignRequest) checkText() error {
	if req.Key.Lossy {
		return &policy.InvalidError{Field: policy.FieldKey, Detail: "key is not valid UTF-8 (it holds bytes or escapes that are not UTF-8)"}
	}
	return nil
}

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
// (content-length-range and the exact Content-Type). The multipart requests are
// refused: the plugin creates and completes the upload itself with URLs signed for
// S3's CreateMultipartUpload and CompleteMultipartUpload, tells presignd neither the
// file's size nor its type, and so could store any number of bytes of any type.
// Multipart goes through companionEndpoint mode (/v1/uppy/s3/…), which holds the
// upload to its declared size.
func (s *Server) uppySign(ctx context.Context, c *caller, req *uppySignRequest, e *auditEntry) (*uppySignResponse, error) {
	e.method, e.key = strings.ToUpper(req.Method), req.Key.Value
	switch {
	case req.Method == "":
		return nil, requiredErr("method")
	case !req.Key.Set:
		return nil, requiredErr("key")
	case req.ExpiresIn != nil && *req.ExpiresIn < 1:
		return nil, &policy.InvalidError{Field: policy.FieldExpiresIn, Detail: "expiresIn must be at least 1 second"}
	}
	multipart := req.UploadID != nil || req.PartNumber != nil
	switch req.Method {
	case http.MethodPut:
		if !multipart {
			return s.uppyPutObject(ctx, c, req, e)
		}
	case http.MethodPost, http.MethodGet, http.MethodDelete:
		if req.Method == http.MethodDelete && !multipart {
			return nil, errorf(CodeInvalidMethod, "presignd does not sign DeleteObject for Uppy: uploads are not deleted from the widget")
		}
		if req.Method == http.MethodGet && !multipart {
			return nil, fieldErr("uploadId", "is required with method GET (ListParts)")
		}
	default:
		return nil, errorf(CodeInvalidMethod, "method %q is not one Uppy sends (PUT, POST, GET, DELETE)", clipString(req.Method))
	}
	return nil, errorf(CodeMultipartNotOffered,
		"presignd does not sign multipart uploads in signRequest mode: the plugin would create and complete the upload itself, "+
			"and nothing would hold it to the grant's size and type. Set shouldUseMultipart: false (files up to 5 GiB go in one "+
			"POST that S3 checks), or use companionEndpoint mode, whose multipart uploads presignd holds to their size")
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
