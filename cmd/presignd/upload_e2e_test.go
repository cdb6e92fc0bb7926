package main

// End-to-end tests of the browser upload endpoints: POST policies and multipart
// uploads, issued by presignd and used with a plain net/http client against versitygw.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

const (
	aliceToken  = "upload-alice-token-1c5e0f7a9b3d"
	bobToken    = "upload-bob-token-8e2d4a6c0f1b"
	carolToken  = "upload-carol-token-2b9f6d1e7a4c"
	readerToken = "upload-reader-token-5a7c9e1b3d0f"

	bucketUploads = "uploads"
	bucketElse    = "elsewhere"

	// aliceMax is alice's max_content_length; bobMax is bob's.
	aliceMax = 1024
	bobMax   = 12 << 20

	mib = 1 << 20
)

// uploadClients: alice may upload small PNGs and text under uploads/alice/ (and read
// them back); bob may upload binary files of up to 12 MiB under big/; carol may upload
// files of any size under any/; reader may only GET.
var uploadClients = clientYAML("alice", aliceToken,
	`[{bucket: `+bucketUploads+`, prefixes: ["uploads/{client}/"], methods: [PUT, GET, HEAD], max_ttl: 1h,`+
		` content_types: ["image/png", "text/*"], max_content_length: `+strconv.Itoa(aliceMax)+`}]`) +
	clientYAML("bob", bobToken,
		`[{bucket: `+bucketUploads+`, prefixes: ["big/"], methods: [PUT, GET], max_ttl: 1h,`+
			` content_types: ["application/octet-stream"], max_content_length: `+strconv.Itoa(bobMax)+`}]`) +
	clientYAML("carol", carolToken,
		`[{bucket: `+bucketUploads+`, prefixes: ["any/"], methods: [PUT, GET], max_ttl: 1h}]`) +
	clientYAML("reader", readerToken,
		`[{bucket: `+bucketUploads+`, prefixes: [""], methods: [GET], max_ttl: 1h}]`)

type uploadEnv struct {
	s3 *s3server.Server
	p  *presignd
}

func newUploadEnv(t *testing.T) *uploadEnv {
	t.Helper()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketUploads)
	s.CreateBucket(t, bucketElse)
	return &uploadEnv{s3: s, p: startPresignd(t, testConfig(uploadClients, configOptions{S3: s}))}
}

// postResult is the 200 body of POST /v1/presign/post.
type postResult struct {
	URL       string            `json:"url"`
	Key       string            `json:"key"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
}

// call POSTs req to an API path as token and decodes a 200 answer into out,
// failing the test on any other status.
func (e *uploadEnv) call(t testing.TB, token, path string, req, out any) {
	t.Helper()
	status, _, body := e.p.post(t, token, path, req)
	if status != http.StatusOK {
		t.Fatalf("POST %s %v: got %d %s, want 200", path, req, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decoding the answer of %s %s: %v", path, body, err)
	}
}

// refusedAt POSTs req to an API path and returns the problem, failing unless the
// status is want and the body is problem+json.
func (e *uploadEnv) refusedAt(t testing.TB, token, path string, req any, want int) problem {
	t.Helper()
	status, h, body := e.p.post(t, token, path, req)
	if status != want {
		t.Fatalf("POST %s %v: got %d %s, want %d", path, req, status, body, want)
	}
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type: got %q, want application/problem+json", ct)
	}
	var pr problem
	if err := json.Unmarshal(body, &pr); err != nil {
		t.Fatalf("decoding the problem %s: %v", body, err)
	}
	if pr.Status != want || pr.Code == "" || pr.Detail == "" {
		t.Errorf("problem %s: want status %d, a code and a detail", body, want)
	}
	return pr
}

func (e *uploadEnv) form(t testing.TB, token string, req map[string]any) postResult {
	t.Helper()
	var res postResult
	e.call(t, token, "/v1/presign/post", req, &res)
	if res.URL == "" || len(res.Fields) == 0 || res.ExpiresIn <= 0 {
		t.Fatalf("POST /v1/presign/post answer without url, fields or expires_in: %+v", res)
	}
	return res
}

// postForm sends an HTML form upload the way a browser does: the policy's fields,
// with override's values replacing or adding fields, then the file.
func postForm(t testing.TB, f postResult, override map[string]string, filename string, data []byte) response {
	t.Helper()
	fields := map[string]string{}
	for k, v := range f.Fields {
		fields[k] = v
	}
	for k, v := range override {
		fields[k] = v
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return use(t, http.MethodPost, f.URL, map[string]string{"Content-Type": w.FormDataContentType()}, body.Bytes())
}

// get downloads an object through a presigned GET as token.
func (e *uploadEnv) get(t testing.TB, token, key string) response {
	t.Helper()
	res := e.p.presign(t, token, map[string]any{"bucket": bucketUploads, "key": key, "method": "GET", "expires_in": 300})
	return use(t, res.Method, res.URL, res.Headers, nil)
}

// wantObject fails unless key holds exactly want with the given Content-Type,
// read back through a presigned GET as token.
func (e *uploadEnv) wantObject(t testing.TB, token, key string, want []byte, contentType string) {
	t.Helper()
	r := e.get(t, token, key)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: got %d %s, want 200", key, r.status, testenv.Clip(r.body))
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("GET %s: got %d bytes, want the %d bytes uploaded (equal: false)", key, len(r.body), len(want))
	}
	if ct := r.header.Get("Content-Type"); ct != contentType {
		t.Errorf("GET %s: Content-Type got %q, want %q", key, ct, contentType)
	}
}

// wantNoObject fails unless HEAD on key answers 404.
func (e *uploadEnv) wantNoObject(t testing.TB, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := e.s3.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucketUploads), Key: aws.String(key)})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HEAD %s: got %v, want 404 Not Found", key, err)
	}
}

// wantCreateTooSmall fails unless multipart create refuses req as below S3's 5 MiB
// part minimum, naming the single-request routes, and leaves no upload in S3.
func (e *uploadEnv) wantCreateTooSmall(t *testing.T, token string, req map[string]any) {
	t.Helper()
	pr := e.refusedAt(t, token, "/v1/multipart/create", req, http.StatusBadRequest)
	if pr.Code != "invalid_request" || !strings.Contains(pr.Detail, "content_length") ||
		!strings.Contains(pr.Detail, "POST /v1/presign ") || !strings.Contains(pr.Detail, "POST /v1/presign/post") {
		t.Errorf("got code %q detail %q, want invalid_request about content_length naming POST /v1/presign and POST /v1/presign/post", pr.Code, pr.Detail)
	}
	if left := e.uploadsOf(t, req["key"].(string)); len(left) != 0 {
		t.Errorf("the refused create left %d uploads in S3", len(left))
	}
}

// uploadsOf lists the multipart uploads S3 holds for key.
func (e *uploadEnv) uploadsOf(t testing.TB, key string) []types.MultipartUpload {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.s3.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucketUploads), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var found []types.MultipartUpload
	for _, u := range out.Uploads {
		if aws.ToString(u.Key) == key {
			found = append(found, u)
		}
	}
	return found
}

// policyConditions decodes the form's policy document and returns its conditions,
// each as compact JSON.
func policyConditions(t testing.TB, f postResult) []string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.Fields["policy"])
	if err != nil {
		t.Fatalf("the policy field is not base64: %v", err)
	}
	var doc struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the policy is not a JSON policy document: %v", err)
	}
	exp, err := time.Parse(time.RFC3339, doc.Expiration)
	if err != nil || exp.Sub(f.ExpiresAt).Abs() > time.Second {
		t.Errorf("policy expiration %q: want expires_at %s", doc.Expiration, f.ExpiresAt.Format(time.RFC3339))
	}
	var out []string
	for _, c := range doc.Conditions {
		var b bytes.Buffer
		if err := json.Compact(&b, c); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.String())
	}
	return out
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadPostForm(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)

	t.Run("within the limits is stored", func(t *testing.T) {
		t.Parallel()
		key := "uploads/alice/note.txt"
		body := randomBytes(t, aliceMax)
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "content_type": "text/plain", "expires_in": 300})
		if f.Fields["key"] != key || f.Fields["Content-Type"] != "text/plain" || f.Fields["X-Amz-Signature"] == "" {
			t.Errorf("fields: got key %q, Content-Type %q, signature set %v; want the key, text/plain and a signature",
				f.Fields["key"], f.Fields["Content-Type"], f.Fields["X-Amz-Signature"] != "")
		}
		conditions := policyConditions(t, f)
		for _, want := range []string{`["content-length-range",0,1024]`, `{"Content-Type":"text/plain"}`, `{"key":"` + key + `"}`} {
			if !slices.Contains(conditions, want) {
				t.Errorf("policy conditions %v: want %s among them", conditions, want)
			}
		}
		if r := postForm(t, f, nil, "note.txt", body); r.status/100 != 2 {
			t.Fatalf("form upload: got %d %s, want 2xx", r.status, testenv.Clip(r.body))
		}
		e.wantObject(t, aliceToken, key, body, "text/plain")
	})

	t.Run("over the grant's max_content_length is refused by S3", func(t *testing.T) {
		t.Parallel()
		key := "uploads/alice/big.txt"
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "content_type": "text/plain", "expires_in": 300})
		wantS3Error(t, "form upload one byte over the limit", postForm(t, f, nil, "big.txt", randomBytes(t, aliceMax+1)), http.StatusBadRequest, "EntityTooLarge")
		e.wantNoObject(t, key)
	})

	t.Run("over the request's max_content_length is refused by S3", func(t *testing.T) {
		t.Parallel()
		key := "uploads/alice/small.txt"
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "content_type": "text/plain",
			"max_content_length": 100, "expires_in": 300})
		wantS3Error(t, "form upload above the request's own limit", postForm(t, f, nil, "small.txt", randomBytes(t, 101)), http.StatusBadRequest, "EntityTooLarge")
		e.wantNoObject(t, key)
		if r := postForm(t, f, nil, "small.txt", randomBytes(t, 100)); r.status/100 != 2 {
			t.Errorf("form upload at the request's limit: got %d %s, want 2xx", r.status, testenv.Clip(r.body))
		}
	})

	t.Run("another content type is refused by S3", func(t *testing.T) {
		t.Parallel()
		key := "uploads/alice/typed.txt"
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "content_type": "text/plain", "expires_in": 300})
		r := postForm(t, f, map[string]string{"Content-Type": "image/png"}, "typed.txt", []byte("not a png"))
		wantS3Error(t, "form upload with another Content-Type", r, http.StatusForbidden, "AccessDenied")
		e.wantNoObject(t, key)
	})

	t.Run("key_prefix: presignd names the key and S3 holds the form to it", func(t *testing.T) {
		t.Parallel()
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key_prefix": "uploads/alice/", "filename": "cat.png",
			"content_type": "image/png", "expires_in": 300})
		if !strings.HasPrefix(f.Key, "uploads/alice/") || !strings.HasSuffix(f.Key, "/cat.png") || f.Fields["key"] != f.Key {
			t.Fatalf("key %q, key field %q: want one name under uploads/alice/ ending in /cat.png", f.Key, f.Fields["key"])
		}
		if conditions := policyConditions(t, f); !slices.Contains(conditions, `{"key":"`+f.Key+`"}`) {
			t.Errorf("policy conditions %v: want the key held exactly", conditions)
		}
		body := randomBytes(t, 512)
		if r := postForm(t, f, nil, "cat.png", body); r.status/100 != 2 {
			t.Fatalf("form upload to %s: got %d %s, want 2xx", f.Key, r.status, testenv.Clip(r.body))
		}
		e.wantObject(t, aliceToken, f.Key, body, "image/png")
		for _, other := range []string{"uploads/alice/photos/cat.png", "uploads/bob/cat.png", "uploads/alice-evil/cat.png", "cat.png"} {
			r := postForm(t, f, map[string]string{"key": other}, "cat.png", body)
			wantS3Error(t, "form upload to "+other, r, http.StatusForbidden, "AccessDenied")
			e.wantNoObject(t, other)
		}
	})

	t.Run("requests outside the grant are refused by presignd", func(t *testing.T) {
		t.Parallel()
		base := func(extra map[string]any) map[string]any {
			req := map[string]any{"bucket": bucketUploads, "key": "uploads/alice/x.txt", "content_type": "text/plain", "expires_in": 300}
			for k, v := range extra {
				if v == nil {
					delete(req, k)
				} else {
					req[k] = v
				}
			}
			return req
		}
		for _, tc := range []struct {
			name   string
			token  string
			req    map[string]any
			reason string
		}{
			{"a content type outside the grant", aliceToken, base(map[string]any{"content_type": "application/pdf"}), "content_type_not_allowed"},
			{"no content type where the grant lists types", aliceToken, base(map[string]any{"content_type": nil}), "content_type_required"},
			{"a max_content_length above the grant's", aliceToken, base(map[string]any{"max_content_length": aliceMax + 1}), "content_length_too_large"},
			{"a key outside the grant's prefix", aliceToken, base(map[string]any{"key": "uploads/bob/x.txt"}), "prefix_not_allowed"},
			{"a key_prefix wider than the grant's prefix", aliceToken,
				base(map[string]any{"key": nil, "key_prefix": "uploads/"}), "prefix_not_allowed"},
			{"a key_prefix beside the grant's prefix", aliceToken,
				base(map[string]any{"key": nil, "key_prefix": "uploads/alice-evil/"}), "prefix_not_allowed"},
			{"another bucket", aliceToken, base(map[string]any{"bucket": bucketElse}), "bucket_not_allowed"},
			{"a client without PUT", readerToken, base(map[string]any{"key": "anything.txt"}), "method_not_allowed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pr := e.refusedAt(t, tc.token, "/v1/presign/post", tc.req, http.StatusForbidden)
				if pr.Code != "forbidden" || pr.Reason != tc.reason {
					t.Errorf("got code %q reason %q, want forbidden %s (detail %q)", pr.Code, pr.Reason, tc.reason, pr.Detail)
				}
			})
		}
	})

	t.Run("malformed requests are refused", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			req  map[string]any
		}{
			{"both key and key_prefix", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "key_prefix": "uploads/alice/", "content_type": "text/plain"}},
			{"neither key nor key_prefix", map[string]any{"bucket": bucketUploads, "content_type": "text/plain"}},
			{"both content_type and content_type_prefix", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "content_type": "text/plain", "content_type_prefix": "text/"}},
			{"a content_type_prefix", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "content_type_prefix": "text/"}},
			{"a filename without key_prefix", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "filename": "b", "content_type": "text/plain"}},
			{"a filename with a slash", map[string]any{"bucket": bucketUploads, "key_prefix": "uploads/alice/", "filename": "../bob/b", "content_type": "text/plain"}},
			{"a content type with a second type", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "content_type": "text/plain,text/html"}},
			{"a negative max_content_length", map[string]any{"bucket": bucketUploads, "key": "uploads/alice/a", "content_type": "text/plain", "max_content_length": -1}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.refusedAt(t, aliceToken, "/v1/presign/post", tc.req, http.StatusBadRequest)
			})
		}
	})
}

// multipartUpload is one multipart upload through presignd as bob.
type multipartUpload struct {
	e        *uploadEnv
	key      string
	uploadID string
	// partSize and partCount are how presignd cut the declared size into parts.
	partSize  int64
	partCount int
}

func (e *uploadEnv) createUpload(t testing.TB, key string, contentLength int) *multipartUpload {
	t.Helper()
	var res struct {
		UploadID  string `json:"upload_id"`
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		PartSize  int64  `json:"part_size"`
		PartCount int    `json:"part_count"`
	}
	e.call(t, bobToken, "/v1/multipart/create", map[string]any{
		"bucket": bucketUploads, "key": key, "content_type": "application/octet-stream", "content_length": contentLength,
	}, &res)
	if res.UploadID == "" || res.Bucket != bucketUploads || res.Key != key {
		t.Fatalf("multipart/create: got %+v, want an upload_id for %s/%s", res, bucketUploads, key)
	}
	if res.PartSize < 5*mib || res.PartCount < 1 || int64(res.PartCount-1)*res.PartSize >= int64(contentLength) || int64(res.PartCount)*res.PartSize < int64(contentLength) {
		t.Fatalf("multipart/create: part_size %d and part_count %d do not cut %d bytes into parts", res.PartSize, res.PartCount, contentLength)
	}
	return &multipartUpload{e: e, key: key, uploadID: res.UploadID, partSize: res.PartSize, partCount: res.PartCount}
}

func (u *multipartUpload) ids() map[string]any {
	return map[string]any{"bucket": bucketUploads, "key": u.key, "upload_id": u.uploadID}
}

// putParts signs URLs for the parts, uploads each, and returns their ETags in order.
func (u *multipartUpload) putParts(t testing.TB, parts ...[]byte) []map[string]any {
	t.Helper()
	numbers := make([]int, len(parts))
	for i := range parts {
		numbers[i] = i + 1
	}
	req := u.ids()
	req["part_numbers"], req["expires_in"] = numbers, 300
	var res struct {
		Parts     []signedPart `json:"parts"`
		ExpiresIn int64        `json:"expires_in"`
	}
	u.e.call(t, bobToken, "/v1/multipart/parts", req, &res)
	if len(res.Parts) != len(parts) || res.ExpiresIn != 300 {
		t.Fatalf("multipart/parts: got %d parts, expires_in %d; want %d, 300", len(res.Parts), res.ExpiresIn, len(parts))
	}
	var done []map[string]any
	for i, p := range res.Parts {
		if p.PartNumber != i+1 {
			t.Fatalf("multipart/parts: part %d is numbered %d", i+1, p.PartNumber)
		}
		if want := strconv.FormatInt(p.Size, 10); p.Size != int64(len(parts[i])) || p.Headers["Content-Length"] != want {
			t.Fatalf("multipart/parts: part %d has size %d and headers %v; the test uploads %d bytes", p.PartNumber, p.Size, p.Headers, len(parts[i]))
		}
		r := use(t, http.MethodPut, p.URL, p.Headers, parts[i])
		if r.status != http.StatusOK {
			t.Fatalf("PUT part %d: got %d %s, want 200", p.PartNumber, r.status, testenv.Clip(r.body))
		}
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatalf("PUT part %d: no ETag in S3's answer", p.PartNumber)
		}
		done = append(done, map[string]any{"part_number": p.PartNumber, "etag": etag})
	}
	return done
}

func (u *multipartUpload) completeReq(parts []map[string]any) map[string]any {
	req := u.ids()
	req["parts"] = parts
	return req
}

func TestUploadMultipart(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)

	t.Run("two parts complete into the whole object", func(t *testing.T) {
		t.Parallel()
		key := "big/two-parts.bin"
		first, second := randomBytes(t, 5*mib), randomBytes(t, mib+123)
		whole := append(append([]byte{}, first...), second...)
		u := e.createUpload(t, key, len(whole))
		var res struct {
			Bucket string `json:"bucket"`
			Key    string `json:"key"`
			ETag   string `json:"etag"`
			Size   int64  `json:"size"`
		}
		e.call(t, bobToken, "/v1/multipart/complete", u.completeReq(u.putParts(t, first, second)), &res)
		if res.Bucket != bucketUploads || res.Key != key || res.Size != int64(len(whole)) || !strings.HasSuffix(strings.Trim(res.ETag, `"`), "-2") {
			t.Errorf("multipart/complete: got %+v, want %s/%s of %d bytes with a two-part ETag", res, bucketUploads, key, len(whole))
		}
		e.wantObject(t, bobToken, key, whole, "application/octet-stream")
		if left := e.uploadsOf(t, key); len(left) != 0 {
			t.Errorf("after complete S3 still holds %d uploads for %s", len(left), key)
		}
	})

	// S3 refuses parts other than the last below 5 MiB: a smaller file is one PUT or POST.
	t.Run("a declared size below 5 MiB is refused at create", func(t *testing.T) {
		t.Parallel()
		e.wantCreateTooSmall(t, bobToken, map[string]any{
			"bucket": bucketUploads, "key": "big/small.bin", "content_type": "application/octet-stream", "content_length": 5*mib - 1,
		})
	})

	// The size is declared once: parts beyond it get no URL, and a part of another
	// size than planned is refused by S3 itself.
	t.Run("parts beyond the declared content_length are refused", func(t *testing.T) {
		t.Parallel()
		key := "big/too-long.bin"
		u := e.createUpload(t, key, 5*mib)
		defer e.call(t, bobToken, "/v1/multipart/abort", u.ids(), new(map[string]any))
		if u.partSize != 5*mib || u.partCount != 1 {
			t.Fatalf("create: part_size %d, part_count %d; want %d, 1", u.partSize, u.partCount, 5*mib)
		}
		req := u.ids()
		req["part_numbers"] = []int{1, 2}
		pr := e.refusedAt(t, bobToken, "/v1/multipart/parts", req, http.StatusBadRequest)
		if pr.Code != "invalid_request" || !strings.Contains(pr.Detail, "part_numbers") {
			t.Errorf("part 2 of 1: got code %q detail %q, want invalid_request about part_numbers", pr.Code, pr.Detail)
		}
		p := e.signParts(t, bobToken, u.ids(), 1).Parts[0]
		r, err := tryPut(t, p, randomBytes(t, 5*mib+1), false)
		wantRefused(t, "PUT of one byte more than the part's size", r, err)
		if parts := e.storedParts(t, key); len(parts) != 0 {
			_, desc := describeParts(parts)
			t.Errorf("S3 holds parts for the upload (%s), want none", desc)
		}
	})

	t.Run("abort leaves no upload", func(t *testing.T) {
		t.Parallel()
		key := "big/aborted.bin"
		u := e.createUpload(t, key, 6*mib)
		parts := u.putParts(t, randomBytes(t, 5*mib))
		var res struct {
			Aborted bool `json:"aborted"`
		}
		e.call(t, bobToken, "/v1/multipart/abort", u.ids(), &res)
		if !res.Aborted {
			t.Errorf("multipart/abort: got aborted false, want true")
		}
		if left := e.uploadsOf(t, key); len(left) != 0 {
			t.Errorf("after abort S3 still holds %d uploads for %s, want none", len(left), key)
		}
		e.wantNoObject(t, key)
		pr := e.refusedAt(t, bobToken, "/v1/multipart/complete", u.completeReq(parts), http.StatusNotFound)
		if pr.Code != "upload_not_found" {
			t.Errorf("complete after abort: got code %q, want upload_not_found", pr.Code)
		}
	})

	t.Run("create is held to the grant", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			token  string
			req    map[string]any
			reason string
		}{
			{"a declared size above the grant", bobToken,
				map[string]any{"bucket": bucketUploads, "key": "big/a", "content_type": "application/octet-stream", "content_length": bobMax + 1}, "content_length_too_large"},
			{"no declared size", bobToken,
				map[string]any{"bucket": bucketUploads, "key": "big/a", "content_type": "application/octet-stream"}, "content_length_required"},
			{"a content type outside the grant", bobToken,
				map[string]any{"bucket": bucketUploads, "key": "big/a", "content_type": "video/mp4", "content_length": 1}, "content_type_not_allowed"},
			{"a key outside the grant", bobToken,
				map[string]any{"bucket": bucketUploads, "key": "small/a", "content_type": "application/octet-stream", "content_length": 1}, "prefix_not_allowed"},
			{"a client without PUT", readerToken,
				map[string]any{"bucket": bucketUploads, "key": "big/a", "content_type": "application/octet-stream", "content_length": 1}, "method_not_allowed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pr := e.refusedAt(t, tc.token, "/v1/multipart/create", tc.req, http.StatusForbidden)
				if pr.Code != "forbidden" || pr.Reason != tc.reason {
					t.Errorf("got code %q reason %q, want forbidden %s (detail %q)", pr.Code, pr.Reason, tc.reason, pr.Detail)
				}
			})
		}
		if left := e.uploadsOf(t, "big/a"); len(left) != 0 {
			t.Errorf("refused creates left %d uploads in S3", len(left))
		}
	})

	t.Run("an upload_id is bound to its key, client and bytes", func(t *testing.T) {
		t.Parallel()
		key := "big/bound.bin"
		u := e.createUpload(t, key, 6*mib)
		tampered := []byte(u.uploadID)
		i := len("v2.") + 5 // inside the sealed payload
		tampered[i] ^= 1
		for _, tc := range []struct {
			name  string
			token string
			key   string
			id    string
		}{
			{"another key", bobToken, "big/other.bin", u.uploadID},
			{"a tampered id", bobToken, key, string(tampered)},
			{"S3's own upload id", bobToken, key, strings.Repeat("a", 32)},
			{"an empty id", bobToken, key, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := map[string]any{"bucket": bucketUploads, "key": tc.key, "upload_id": tc.id}
				for path, extra := range map[string]map[string]any{
					"/v1/multipart/parts":    {"part_numbers": []int{1}},
					"/v1/multipart/complete": {"parts": []map[string]any{{"part_number": 1, "etag": `"x"`}}},
					"/v1/multipart/abort":    {},
				} {
					body := map[string]any{}
					for k, v := range req {
						body[k] = v
					}
					for k, v := range extra {
						body[k] = v
					}
					pr := e.refusedAt(t, tc.token, path, body, http.StatusBadRequest)
					if pr.Code != "invalid_request" || !strings.Contains(pr.Detail, "upload_id") {
						t.Errorf("%s: got code %q detail %q, want invalid_request about upload_id", path, pr.Code, pr.Detail)
					}
				}
			})
		}
		t.Run("another client", func(t *testing.T) {
			// alice may not write under big/ at all; the upload_id is refused before the grant is looked at.
			req := u.ids()
			req["part_numbers"] = []int{1}
			pr := e.refusedAt(t, aliceToken, "/v1/multipart/parts", req, http.StatusBadRequest)
			if pr.Code != "invalid_request" {
				t.Errorf("got code %q, want invalid_request", pr.Code)
			}
		})
		if n := len(e.uploadsOf(t, key)); n != 1 {
			t.Errorf("the refused calls changed the upload: S3 holds %d uploads for %s, want 1", n, key)
		}
		e.call(t, bobToken, "/v1/multipart/abort", u.ids(), new(map[string]any))
	})

	t.Run("part numbers out of range are refused", func(t *testing.T) {
		t.Parallel()
		// carol's grant has no max_content_length: she may declare no size, and her
		// upload then runs to 10000 parts of any size.
		var created struct {
			UploadID string `json:"upload_id"`
			PartSize *int64 `json:"part_size"`
		}
		key := "any/numbers.bin"
		e.call(t, carolToken, "/v1/multipart/create", map[string]any{"bucket": bucketUploads, "key": key}, &created)
		if created.PartSize != nil {
			t.Errorf("create without a declared size: got part_size %d, want none", *created.PartSize)
		}
		u := &multipartUpload{e: e, key: key, uploadID: created.UploadID}
		defer e.call(t, carolToken, "/v1/multipart/abort", u.ids(), new(map[string]any))
		many := make([]int, 1001)
		for i := range many {
			many[i] = i + 1
		}
		for _, tc := range []struct {
			name    string
			numbers any
		}{
			{"zero", []int{0}},
			{"negative", []int{-1}},
			{"above 10000", []int{10001}},
			{"a repeat", []int{1, 2, 1}},
			{"none", []int{}},
			{"more than 1000 in one call", many},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := u.ids()
				req["part_numbers"] = tc.numbers
				pr := e.refusedAt(t, carolToken, "/v1/multipart/parts", req, http.StatusBadRequest)
				if pr.Code != "invalid_request" || !strings.Contains(pr.Detail, "part_numbers") {
					t.Errorf("got code %q detail %q, want invalid_request about part_numbers", pr.Code, pr.Detail)
				}
			})
		}
		res := e.signParts(t, carolToken, u.ids(), 1, 10000)
		if res.Parts[0].PartNumber != 1 || res.Parts[1].PartNumber != 10000 {
			t.Errorf("parts 1 and 10000: got %+v", res.Parts)
		}
		for _, p := range res.Parts {
			if p.Size != 0 || len(p.Headers) != 0 {
				t.Errorf("part %d of an upload without a declared size: size %d, headers %v; want neither", p.PartNumber, p.Size, p.Headers)
			}
		}
		// Without a declared size the parts bind no size, as the grant allows any:
		// a part of 1 byte and one of 6 MiB are both stored.
		for i, size := range []int{1, 6 * mib} {
			if r := use(t, http.MethodPut, res.Parts[i].URL, nil, randomBytes(t, size)); r.status != http.StatusOK {
				t.Errorf("PUT of %d bytes to part %d: got %d %s, want 200", size, res.Parts[i].PartNumber, r.status, testenv.Clip(r.body))
			}
		}
	})
}
