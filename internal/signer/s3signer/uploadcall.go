package s3signer

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/signer"
)

// PresignUploadCall signs a URL for one of S3's multipart calls (create, list parts,
// complete, abort), for a browser widget that makes the call itself. s3.PresignClient
// offers none of these, so the object's URL is taken from a DeleteObject URL the
// PresignClient signs (endpoint, path style and key escaping as every other URL), its
// query replaced by the call's, and signed with the same SigV4 signer: only Host is
// signed, and the body is UNSIGNED-PAYLOAD. It makes no network call.
func (s *Signer) PresignUploadCall(ctx context.Context, req signer.UploadCallRequest) (signer.Presigned, error) {
	method := req.Call.Method()
	switch {
	case method == "":
		return signer.Presigned{}, fmt.Errorf("cannot sign the call %q", req.Call)
	case req.Expires < time.Second:
		return signer.Presigned{}, fmt.Errorf("a URL needs a lifetime of at least 1s, got %s", req.Expires)
	case (req.UploadID == "") != (req.Call == signer.CallCreateMultipartUpload):
		return signer.Presigned{}, fmt.Errorf("%s needs an upload ID exactly when it is not CreateMultipartUpload", req.Call)
	}
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	object, err := s.presignSDK(ctx, signer.Request{Bucket: req.Bucket, Key: req.Key, Method: http.MethodDelete,
		Expires: req.Expires, Credentials: req.Credentials, ContentLength: -1}, at)
	if err != nil {
		return signer.Presigned{}, err
	}
	u, err := url.Parse(object.URL)
	if err != nil {
		return signer.Presigned{}, fmt.Errorf("signing %s: %w", req.Call, err)
	}
	q := url.Values{"X-Amz-Expires": {strconv.FormatInt(int64(req.Expires/time.Second), 10)}}
	if req.Call == signer.CallCreateMultipartUpload {
		q.Set("uploads", "")
	} else {
		q.Set("uploadId", req.UploadID)
	}
	u.RawQuery = q.Encode()
	r, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return signer.Presigned{}, fmt.Errorf("signing %s: %w", req.Call, err)
	}
	t := s.TargetFor(req.Bucket)
	signed, headers, err := newV4Signer().PresignHTTP(ctx, sdkCredentials(req.Credentials), r, "UNSIGNED-PAYLOAD", "s3", t.Region, at)
	if err != nil {
		return signer.Presigned{}, fmt.Errorf("signing %s: %w", req.Call, err)
	}
	p := signer.Presigned{URL: signed, Method: method, Headers: map[string]string{}, SignedAt: at, Expires: req.Expires}
	for name, vals := range headers {
		if name = http.CanonicalHeaderKey(name); name != "Host" {
			p.Headers[name] = strings.Join(vals, ",")
		}
	}
	return p, nil
}
