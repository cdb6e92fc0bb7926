package main

// End-to-end tests: presignd runs through run() in front of a real versitygw, and the
// URLs it returns are used with a plain net/http client, as a caller would.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// Bearer tokens of the e2e config's clients.
const (
	appToken      = "e2e-app-token-6f1b0d0c1f7e4d9a"
	uploaderToken = "e2e-uploader-token-93c2a5e8b04f"
)

const (
	bucketMain      = "e2e"
	bucketVersioned = "e2e-versioned"
	bucketOther     = "e2e-other"
)

// e2eClients: "app" may do anything in the main and versioned buckets for up to 2h;
// "uploader" may only PUT small images and text under uploads/uploader/ for 15m.
var e2eClients = clientYAML("app", appToken,
	`[{bucket: `+bucketMain+`, prefixes: [""], methods: [GET, PUT, HEAD, DELETE], max_ttl: 2h},`+
		` {bucket: `+bucketVersioned+`, prefixes: [""], methods: [GET, PUT, HEAD, DELETE], max_ttl: 2h}]`) +
	clientYAML("uploader", uploaderToken,
		`[{bucket: `+bucketMain+`, prefixes: ["uploads/{client}/"], methods: [PUT], max_ttl: 15m,`+
			` content_types: ["image/png", "text/*"], max_content_length: 1024}]`)

type e2eEnv struct {
	s3 *s3server.Server
	p  *presignd
}

// newE2E starts a versitygw with the three buckets (versioning on e2e-versioned) and a
// presignd signing with its root keys through the shared-config profile "vgw".
func newE2E(t *testing.T) *e2eEnv {
	t.Helper()
	s := s3server.Start(t)
	for _, b := range []string{bucketMain, bucketVersioned, bucketOther} {
		s.CreateBucket(t, b)
	}
	s.EnableVersioning(t, bucketVersioned)
	// A host name serves for admin_listen as well as an address.
	p := startPresignd(t, testConfig(e2eClients, configOptions{S3: s, AdminListen: "localhost:0"}))
	t.Cleanup(func() {
		// URLs are bearer secrets and tokens are secrets: neither may reach the log.
		logs := p.Logs()
		for _, secret := range []string{"X-Amz-Signature", "X-Amz-Credential", appToken, uploaderToken,
			config.HashToken(appToken), config.HashToken(uploaderToken), testenv.SecretAccessKey} {
			if strings.Contains(logs, secret) {
				t.Errorf("the presignd log contains %q", secret)
			}
		}
	})
	return &e2eEnv{s3: s, p: p}
}

// presignResult is the 200 body of POST /v1/presign.
type presignResult struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	Headers   map[string]string `json:"headers"`
	CappedBy  *string           `json:"capped_by"`
}

// problem is an RFC 9457 problem document as presignd writes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// presign asks for a URL and fails the test unless presignd answers 200.
func (p *presignd) presign(t testing.TB, token string, req map[string]any) presignResult {
	t.Helper()
	status, _, body := p.post(t, token, "/v1/presign", req)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/presign %v: got %d %s, want 200", req, status, body)
	}
	var res presignResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("decoding the presign answer %s: %v", body, err)
	}
	if res.URL == "" || res.Headers == nil {
		t.Fatalf("presign answer without url or headers: %s", body)
	}
	return res
}

// refused asks for a URL and returns the problem, failing unless the status is want
// and the body is problem+json.
func (p *presignd) refused(t testing.TB, token string, req map[string]any, want int) problem {
	t.Helper()
	status, h, body := p.post(t, token, "/v1/presign", req)
	if status != want {
		t.Fatalf("POST /v1/presign %v: got %d %s, want %d", req, status, body, want)
	}
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type: got %q, want application/problem+json", ct)
	}
	var pr problem
	if err := json.Unmarshal(body, &pr); err != nil {
		t.Fatalf("decoding the problem %s: %v", body, err)
	}
	if pr.Status != want || pr.Type != "urn:presignd:problem:"+pr.Code || pr.Title == "" || pr.Detail == "" {
		t.Errorf("problem %s: want status %d, type urn:presignd:problem:<code>, a title and a detail", body, want)
	}
	return pr
}

// response is what S3 answered to a request on a pre-signed URL.
type response struct {
	status int
	header http.Header
	body   []byte
}

// use sends a request to a pre-signed URL with the headers presignd said to send
// (Content-Length comes from the body itself, as with any HTTP client).
func use(t testing.TB, method, rawURL string, headers map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("building %s %s: %v", method, rawURL, err)
	}
	for k, v := range headers {
		if http.CanonicalHeaderKey(k) == "Content-Length" {
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s on the pre-signed URL: %v", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s on the pre-signed URL: reading the body: %v", method, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// upload PUTs body to key through a presignd URL and returns S3's answer (200 expected).
func (e *e2eEnv) upload(t testing.TB, bucket, key string, body []byte) response {
	t.Helper()
	res := e.p.presign(t, appToken, map[string]any{"bucket": bucket, "key": key, "method": "PUT", "expires_in": 300})
	r := use(t, res.Method, res.URL, res.Headers, body)
	if r.status != http.StatusOK {
		t.Fatalf("PUT %q: got %d %s, want 200", key, r.status, testenv.Clip(r.body))
	}
	return r
}

// download GETs key through a presignd URL; extra request fields are merged in.
func (e *e2eEnv) download(t testing.TB, bucket, key string, extra map[string]any) response {
	t.Helper()
	req := map[string]any{"bucket": bucket, "key": key, "method": "GET", "expires_in": 300}
	for k, v := range extra {
		req[k] = v
	}
	res := e.p.presign(t, appToken, req)
	return use(t, res.Method, res.URL, res.Headers, nil)
}

// longKey is a key of exactly 1024 bytes in segments short enough for a file name.
func longKey() string {
	var b strings.Builder
	b.WriteString("corpus/long/")
	seg := strings.Repeat("x", 190) + "é" + strings.Repeat("y", 6) + "/" // 200 bytes
	for b.Len()+len(seg) < 1024 {
		b.WriteString(seg)
	}
	b.WriteString(strings.Repeat("z", 1024-b.Len()))
	return b.String()
}

func TestE2EAwkwardKeys(t *testing.T) {
	t.Parallel()
	e := newE2E(t)

	keys := map[string]string{
		"space":            "corpus/with space/and  two.txt",
		"plus":             "corpus/a+b=c&d.txt",
		"percent":          "corpus/100%25 %41 %.txt",
		"hash and query":   "corpus/#fragment?query=1&x.txt",
		"quotes":           `corpus/it's "quoted".txt`,
		"brackets":         "corpus/(paren) [bracket] {brace} <angle>.txt",
		"punctuation":      "corpus/~!@$^*,;:|`\\.txt",
		"accent NFC":       "corpus/caf\u00e9.txt",
		"accent NFD":       "corpus/cafe\u0301.txt",
		"CJK":              "corpus/日本語/ファイル名.txt",
		"emoji":            "corpus/emoji 😀🎉/👍🏽.txt",
		"trailing space":   "corpus/trailing ",
		"leading dot":      "corpus/.hidden/..x",
		"1024 bytes":       longKey(),
		"many slashes ok":  "corpus/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
		"unicode spaces":   "corpus/nbsp\u00a0ideographic\u3000.txt",
		"right-to-left":    "corpus/שלום/مرحبا.txt",
		"combining marks":  "corpus/Z\u0351\u0362a\u0358lgo.txt",
		"supplementary":    "corpus/𝔘𝔫𝔦𝔠𝔬𝔡𝔢/𠜎.txt",
		"equals and amps":  "corpus/==&&==.txt",
		"encoded slash":    "corpus/a%2Fb.txt",
		"only punctuation": "corpus/!'()*",
	}
	if n := len(keys["1024 bytes"]); n != 1024 {
		t.Fatalf("long key is %d bytes, want 1024", n)
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := []byte("content of " + key)
			e.upload(t, bucketMain, key, body)
			got := e.download(t, bucketMain, key, nil)
			if got.status != http.StatusOK {
				t.Fatalf("GET %q: got %d %s, want 200", key, got.status, testenv.Clip(got.body))
			}
			if !bytes.Equal(got.body, body) {
				t.Errorf("GET %q: got %q, want %q", key, got.body, body)
			}
		})
	}

	// NFC and NFD spellings are different keys: neither overwrote the other.
	t.Run("no normalisation", func(t *testing.T) {
		t.Parallel()
		nfc := e.download(t, bucketMain, "corpus/nfc-only/caf\u00e9", nil)
		if nfc.status != http.StatusNotFound {
			t.Fatalf("GET of a key never written: got %d, want 404", nfc.status)
		}
		e.upload(t, bucketMain, "corpus/pair/caf\u00e9", []byte("nfc"))
		e.upload(t, bucketMain, "corpus/pair/cafe\u0301", []byte("nfd"))
		for key, want := range map[string]string{"corpus/pair/caf\u00e9": "nfc", "corpus/pair/cafe\u0301": "nfd"} {
			got := e.download(t, bucketMain, key, nil)
			if got.status != http.StatusOK || string(got.body) != want {
				t.Errorf("GET %q: got %d %q, want 200 %q", key, got.status, got.body, want)
			}
		}
	})
}

func TestE2EUploadConstraints(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	body := []byte(`{"hello":"world"}`)
	sum := sha256.Sum256(body)
	checksum := base64.StdEncoding.EncodeToString(sum[:])

	head := func(t *testing.T, key string) response {
		t.Helper()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": key, "method": "HEAD", "expires_in": 300})
		if res.Method != http.MethodHead {
			t.Errorf("method: got %q, want HEAD", res.Method)
		}
		return use(t, res.Method, res.URL, res.Headers, nil)
	}

	t.Run("content type and length are signed and stored", func(t *testing.T) {
		t.Parallel()
		key := "typed/data.json"
		res := e.p.presign(t, appToken, map[string]any{
			"bucket": bucketMain, "key": key, "method": "PUT",
			"content_type": "application/json", "content_length": len(body),
		})
		wantHeaders := map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body))}
		for k, v := range wantHeaders {
			if res.Headers[k] != v {
				t.Errorf("headers[%s]: got %q, want %q (all: %v)", k, res.Headers[k], v, res.Headers)
			}
		}
		if len(res.Headers) != len(wantHeaders) {
			t.Errorf("headers: got %v, want exactly %v", res.Headers, wantHeaders)
		}

		other := use(t, "PUT", res.URL, map[string]string{"Content-Type": "text/plain"}, body)
		wantS3Error(t, "PUT with another content type", other, http.StatusForbidden, "SignatureDoesNotMatch")
		longer := use(t, "PUT", res.URL, res.Headers, append([]byte(" "), body...))
		wantS3Error(t, "PUT of a longer body", longer, http.StatusForbidden, "SignatureDoesNotMatch")
		shorter := use(t, "PUT", res.URL, res.Headers, body[1:])
		wantS3Error(t, "PUT of a shorter body", shorter, http.StatusForbidden, "SignatureDoesNotMatch")
		if h := head(t, key); h.status != http.StatusNotFound {
			t.Fatalf("HEAD after refused uploads: got %d, want 404", h.status)
		}

		if r := use(t, "PUT", res.URL, res.Headers, body); r.status != http.StatusOK {
			t.Fatalf("PUT with the signed headers: got %d %s, want 200", r.status, testenv.Clip(r.body))
		}
		h := head(t, key)
		if h.status != http.StatusOK {
			t.Fatalf("HEAD: got %d, want 200", h.status)
		}
		if got := h.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("stored Content-Type: got %q, want application/json", got)
		}
		if got := h.header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
			t.Errorf("stored Content-Length: got %q, want %d", got, len(body))
		}
		if len(h.body) != 0 {
			t.Errorf("HEAD returned a body of %d bytes", len(h.body))
		}
	})

	t.Run("checksum_sha256 is enforced", func(t *testing.T) {
		t.Parallel()
		key := "checked/data.json"
		res := e.p.presign(t, appToken, map[string]any{
			"bucket": bucketMain, "key": key, "method": "PUT", "checksum_sha256": checksum,
		})
		if got := res.Headers["X-Amz-Checksum-Sha256"]; got != checksum {
			t.Errorf("headers[X-Amz-Checksum-Sha256]: got %q, want %q (all: %v)", got, checksum, res.Headers)
		}
		wrong := bytes.ToUpper(body) // same length, other bytes
		wantS3Error(t, "PUT of a body with another checksum", use(t, "PUT", res.URL, res.Headers, wrong),
			http.StatusBadRequest, "BadDigest")
		zero := base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))
		wantS3Error(t, "PUT declaring another checksum", use(t, "PUT", res.URL, map[string]string{"X-Amz-Checksum-Sha256": zero}, body),
			http.StatusForbidden, "SignatureDoesNotMatch")
		wantS3Error(t, "PUT without the checksum header", use(t, "PUT", res.URL, nil, body),
			http.StatusForbidden, "SignatureDoesNotMatch")
		if h := head(t, key); h.status != http.StatusNotFound {
			t.Fatalf("HEAD after the refused upload: got %d, want 404", h.status)
		}
		if r := use(t, "PUT", res.URL, res.Headers, body); r.status != http.StatusOK {
			t.Fatalf("PUT of the body the checksum is for: got %d %s, want 200", r.status, testenv.Clip(r.body))
		}
		got := e.download(t, bucketMain, key, nil)
		if !bytes.Equal(got.body, body) {
			t.Errorf("GET: got %q, want %q", got.body, body)
		}
	})

	t.Run("metadata is signed and stored", func(t *testing.T) {
		t.Parallel()
		key := "meta/report.txt"
		res := e.p.presign(t, appToken, map[string]any{
			"bucket": bucketMain, "key": key, "method": "PUT",
			"metadata": map[string]string{"owner": "alice", "Project-Id": "p-42"},
		})
		for k, v := range map[string]string{"X-Amz-Meta-Owner": "alice", "X-Amz-Meta-Project-Id": "p-42"} {
			if res.Headers[k] != v {
				t.Errorf("headers[%s]: got %q, want %q (all: %v)", k, res.Headers[k], v, res.Headers)
			}
		}
		forged := map[string]string{"X-Amz-Meta-Owner": "mallory", "X-Amz-Meta-Project-Id": "p-42"}
		wantS3Error(t, "PUT with other metadata", use(t, "PUT", res.URL, forged, body), http.StatusForbidden, "SignatureDoesNotMatch")
		if r := use(t, "PUT", res.URL, res.Headers, body); r.status != http.StatusOK {
			t.Fatalf("PUT with the signed metadata: got %d %s, want 200", r.status, testenv.Clip(r.body))
		}
		h := head(t, key)
		for k, v := range map[string]string{"X-Amz-Meta-Owner": "alice", "X-Amz-Meta-Project-Id": "p-42"} {
			if got := h.header.Get(k); got != v {
				t.Errorf("HEAD %s: got %q, want %q", k, got, v)
			}
		}
	})

	t.Run("no checksum unless asked", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "plain/x", "method": "PUT"})
		if len(res.Headers) != 0 {
			t.Errorf("headers of a plain PUT: got %v, want none", res.Headers)
		}
		if q := mustParse(t, res.URL).Query(); q.Get("x-amz-sdk-checksum-algorithm") != "" || q.Get("x-amz-checksum-crc32") != "" {
			t.Errorf("a plain PUT URL carries a checksum the caller did not ask for: %v", testenv.RedactSignatures(q.Encode()))
		}
	})
}

func TestE2EVersionsHeadDelete(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	key := "docs/versioned file.txt"
	v1 := e.upload(t, bucketVersioned, key, []byte("first version"))
	v2 := e.upload(t, bucketVersioned, key, []byte("second version, longer"))
	id1, id2 := v1.header.Get("X-Amz-Version-Id"), v2.header.Get("X-Amz-Version-Id")
	if id1 == "" || id2 == "" || id1 == id2 {
		t.Fatalf("version ids: got %q and %q, want two different ids", id1, id2)
	}

	if got := e.download(t, bucketVersioned, key, nil); string(got.body) != "second version, longer" {
		t.Errorf("GET latest: got %d %q, want the second version", got.status, testenv.Clip(got.body))
	}
	if got := e.download(t, bucketVersioned, key, map[string]any{"version_id": id1}); got.status != http.StatusOK || string(got.body) != "first version" {
		t.Errorf("GET version_id %s: got %d %q, want 200 %q", id1, got.status, got.body, "first version")
	}

	headRes := e.p.presign(t, appToken, map[string]any{"bucket": bucketVersioned, "key": key, "method": "HEAD", "version_id": id1})
	h := use(t, headRes.Method, headRes.URL, headRes.Headers, nil)
	if h.status != http.StatusOK || h.header.Get("Content-Length") != strconv.Itoa(len("first version")) || h.header.Get("X-Amz-Version-Id") != id1 {
		t.Errorf("HEAD version_id %s: got %d, Content-Length %q, version %q; want 200, %d, %s",
			id1, h.status, h.header.Get("Content-Length"), h.header.Get("X-Amz-Version-Id"), len("first version"), id1)
	}

	// DELETE of one version removes exactly that version.
	delRes := e.p.presign(t, appToken, map[string]any{"bucket": bucketVersioned, "key": key, "method": "DELETE", "version_id": id1})
	if delRes.Method != http.MethodDelete {
		t.Errorf("method: got %q, want DELETE", delRes.Method)
	}
	if d := use(t, delRes.Method, delRes.URL, delRes.Headers, nil); d.status != http.StatusNoContent {
		t.Fatalf("DELETE version_id %s: got %d %s, want 204", id1, d.status, testenv.Clip(d.body))
	}
	if got := e.download(t, bucketVersioned, key, map[string]any{"version_id": id1}); got.status != http.StatusNotFound {
		t.Errorf("GET of the deleted version: got %d %s, want 404", got.status, testenv.Clip(got.body))
	}
	if got := e.download(t, bucketVersioned, key, map[string]any{"version_id": id2}); string(got.body) != "second version, longer" {
		t.Errorf("GET of the remaining version: got %d %q", got.status, testenv.Clip(got.body))
	}

	// DELETE without a version id in an unversioned bucket removes the object.
	e.upload(t, bucketMain, key, []byte("x"))
	delRes = e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": key, "method": "DELETE"})
	if d := use(t, delRes.Method, delRes.URL, delRes.Headers, nil); d.status != http.StatusNoContent {
		t.Fatalf("DELETE: got %d %s, want 204", d.status, testenv.Clip(d.body))
	}
	if got := e.download(t, bucketMain, key, nil); got.status != http.StatusNotFound {
		t.Errorf("GET after DELETE: got %d, want 404", got.status)
	}
}

func TestE2ERefusedURLs(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.upload(t, bucketMain, "secret/a.txt", []byte("a"))
	e.upload(t, bucketMain, "secret/b.txt", []byte("b"))

	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "secret/a.txt", "expires_in": 1})
		if res.ExpiresIn != 1 {
			t.Errorf("expires_in: got %d, want 1", res.ExpiresIn)
		}
		time.Sleep(time.Until(res.ExpiresAt) + 1500*time.Millisecond)
		r := use(t, "GET", res.URL, res.Headers, nil)
		wantS3Error(t, "GET on an expired URL", r, http.StatusForbidden, "AccessDenied")
		if !strings.Contains(string(r.body), "expired") {
			t.Errorf("GET on an expired URL: %s does not say it expired", testenv.Clip(r.body))
		}
	})

	t.Run("tampered signature", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "secret/a.txt"})
		if r := use(t, "GET", res.URL, nil, nil); r.status != http.StatusOK {
			t.Fatalf("GET on the untouched URL: got %d %s, want 200", r.status, testenv.Clip(r.body))
		}
		u := mustParse(t, res.URL)
		q := u.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		if len(sig) != 64 {
			t.Fatalf("X-Amz-Signature: got %d characters, want 64", len(sig))
		}
		if sig[10] == '0' {
			sig[10] = '1'
		} else {
			sig[10] = '0'
		}
		u.RawQuery = strings.Replace(u.RawQuery, "X-Amz-Signature="+q.Get("X-Amz-Signature"), "X-Amz-Signature="+string(sig), 1)
		wantS3Error(t, "GET with one signature character changed", use(t, "GET", u.String(), nil, nil),
			http.StatusForbidden, "SignatureDoesNotMatch")
	})

	t.Run("tampered key", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "secret/a.txt"})
		u := mustParse(t, res.URL)
		if !strings.HasSuffix(u.Path, "/secret/a.txt") {
			t.Fatalf("URL path %q does not end in the key", u.Path)
		}
		u.Path = strings.TrimSuffix(u.Path, "a.txt") + "b.txt"
		u.RawPath = ""
		wantS3Error(t, "GET of another key with the signature of secret/a.txt", use(t, "GET", u.String(), nil, nil),
			http.StatusForbidden, "SignatureDoesNotMatch")
	})

	t.Run("tampered method", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "secret/a.txt"})
		wantS3Error(t, "DELETE with a GET URL", use(t, "DELETE", res.URL, nil, nil), http.StatusForbidden, "SignatureDoesNotMatch")
		if r := use(t, "GET", res.URL, nil, nil); r.status != http.StatusOK || string(r.body) != "a" {
			t.Errorf("GET after the refused DELETE: got %d %q, want 200 %q", r.status, r.body, "a")
		}
	})
}

func TestE2EDownloadHeaders(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.upload(t, bucketMain, "reports/q1.bin", []byte("report"))

	got := e.download(t, bucketMain, "reports/q1.bin", map[string]any{
		"download_filename":      "Bericht März 2026 – final.pdf",
		"response_content_type":  "application/pdf",
		"response_cache_control": "private, max-age=60",
	})
	if got.status != http.StatusOK || string(got.body) != "report" {
		t.Fatalf("GET: got %d %q, want 200 %q", got.status, got.body, "report")
	}
	want := map[string]string{
		"Content-Disposition": `attachment; filename="Bericht M_rz 2026 _ final.pdf"; filename*=UTF-8''Bericht%20M%C3%A4rz%202026%20%E2%80%93%20final.pdf`,
		"Content-Type":        "application/pdf",
		"Cache-Control":       "private, max-age=60",
	}
	for k, v := range want {
		if g := got.header.Get(k); g != v {
			t.Errorf("%s: got %q, want %q", k, g, v)
		}
	}

	plain := e.download(t, bucketMain, "reports/q1.bin", map[string]any{"download_filename": "report.bin"})
	if g := plain.header.Get("Content-Disposition"); g != `attachment; filename="report.bin"` {
		t.Errorf("Content-Disposition for an ASCII name: got %q, want %q", g, `attachment; filename="report.bin"`)
	}
}

func TestE2EPolicy(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	png := []byte("\x89PNG")
	base := func(kv ...any) map[string]any {
		m := map[string]any{"bucket": bucketMain, "key": "uploads/uploader/a.png", "method": "PUT",
			"content_type": "image/png", "content_length": len(png)}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}

	t.Run("allowed upload works and is capped by policy", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, uploaderToken, base())
		if res.ExpiresIn != 900 || res.CappedBy == nil || *res.CappedBy != "policy" {
			t.Errorf("expires_in %d, capped_by %v: want 900 capped by policy (grant max_ttl 15m)", res.ExpiresIn, deref(res.CappedBy))
		}
		if r := use(t, res.Method, res.URL, res.Headers, png); r.status != http.StatusOK {
			t.Fatalf("PUT: got %d %s, want 200", r.status, testenv.Clip(r.body))
		}
		if got := e.download(t, bucketMain, "uploads/uploader/a.png", nil); !bytes.Equal(got.body, png) {
			t.Errorf("GET of the upload: got %d %q, want %q", got.status, got.body, png)
		}
	})

	t.Run("uncapped has no capped_by", func(t *testing.T) {
		t.Parallel()
		res := e.p.presign(t, uploaderToken, base("expires_in", 60))
		if res.ExpiresIn != 60 || res.CappedBy != nil {
			t.Errorf("expires_in %d, capped_by %v: want 60 and no capped_by", res.ExpiresIn, deref(res.CappedBy))
		}
	})

	for _, tc := range []struct {
		name   string
		token  string
		req    map[string]any
		reason string
	}{
		{"other bucket", appToken, map[string]any{"bucket": bucketOther, "key": "a.txt"}, "bucket_not_allowed"},
		{"other client's prefix", uploaderToken, base("key", "uploads/someone/a.png"), "prefix_not_allowed"},
		{"prefix boundary", uploaderToken, base("key", "uploads/uploader-evil/a.png"), "prefix_not_allowed"},
		{"method", uploaderToken, map[string]any{"bucket": bucketMain, "key": "uploads/uploader/a.png"}, "method_not_allowed"},
		{"content type", uploaderToken, base("content_type", "application/zip"), "content_type_not_allowed"},
		{"no content type", uploaderToken, base("content_type", nil), "content_type_required"},
		{"too large", uploaderToken, base("content_length", 1025), "content_length_too_large"},
		{"no content length", uploaderToken, base("content_length", nil), "content_length_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr := e.p.refused(t, tc.token, tc.req, http.StatusForbidden)
			if pr.Code != "forbidden" || pr.Reason != tc.reason {
				t.Errorf("code %q reason %q, want forbidden %s", pr.Code, pr.Reason, tc.reason)
			}
		})
	}

	t.Run("unauthenticated", func(t *testing.T) {
		t.Parallel()
		for _, token := range []string{"", "not-a-known-token"} {
			status, h, body := e.p.post(t, token, "/v1/presign", map[string]any{"bucket": bucketMain, "key": "a"})
			if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") ||
				!strings.Contains(string(body), `"code":"unauthenticated"`) {
				t.Errorf("token %q: got %d, WWW-Authenticate %q, %s; want 401 unauthenticated with a Bearer challenge",
					token, status, h.Get("WWW-Authenticate"), body)
			}
		}
	})

	t.Run("invalid key", func(t *testing.T) {
		t.Parallel()
		for _, key := range []string{"a/../b", "/abs", "a//b", strings.Repeat("k", 1025), "tab\there"} {
			pr := e.p.refused(t, appToken, map[string]any{"bucket": bucketMain, "key": key}, http.StatusBadRequest)
			if pr.Code != "invalid_key" {
				t.Errorf("key %.20q: code %q, want invalid_key", key, pr.Code)
			}
		}
		// A JSON string escape that is not UTF-8 (a lone surrogate) is refused, not
		// turned into U+FFFD and signed.
		status, _, body := e.p.post(t, appToken, "/v1/presign", `{"bucket":"e2e","key":"a/\ud800.txt"}`)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_key"`) {
			t.Errorf("key with a lone surrogate: got %d %s, want 400 invalid_key", status, body)
		}
	})

	t.Run("audit log", func(t *testing.T) {
		t.Parallel()
		e.p.refused(t, uploaderToken, base("key", "uploads/someone/audit.png"), http.StatusForbidden)
		var found bool
		for _, l := range e.p.LogLines(t) {
			if l["msg"] == "presign" && l["key"] == "uploads/someone/audit.png" {
				found = true
				if l["client"] != "uploader" || l["outcome"] != "denied" || l["reason"] != "prefix_not_allowed" || l["bucket"] != bucketMain {
					t.Errorf("audit line: got %v, want client uploader, outcome denied, reason prefix_not_allowed", l)
				}
			}
		}
		if !found {
			t.Errorf("no audit line for the denied request in:\n%s", e.p.Logs())
		}
	})
}

func TestE2ECredentialLifetime(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	p := startPresignd(t, testConfig(e2eClients, configOptions{S3: s, Profile: profileShort}))

	before := time.Now()
	res := p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "short/x", "expires_in": 3600})
	after := time.Now()
	if res.CappedBy == nil || *res.CappedBy != "credentials" {
		t.Errorf("capped_by: got %v, want credentials", deref(res.CappedBy))
	}
	// The credentials were handed out between before and after, for 10 minutes.
	if latest := after.Add(shortCredentialsLifetime); res.ExpiresAt.After(latest) {
		t.Errorf("expires_at %s is after the credentials' expiry (at most %s)", res.ExpiresAt, latest.UTC())
	}
	if res.ExpiresIn < 1 || res.ExpiresIn > int64(shortCredentialsLifetime/time.Second) {
		t.Errorf("expires_in: got %d, want between 1 and %d", res.ExpiresIn, int64(shortCredentialsLifetime/time.Second))
	}
	if res.ExpiresAt.Before(before.Add(-time.Second)) {
		t.Errorf("expires_at %s is in the past", res.ExpiresAt)
	}
	q := mustParse(t, res.URL).Query()
	if got := q.Get("X-Amz-Security-Token"); got != shortSessionToken {
		t.Errorf("X-Amz-Security-Token: got %q, want %q", got, shortSessionToken)
	}
	if got := q.Get("X-Amz-Expires"); got != strconv.FormatInt(res.ExpiresIn, 10) {
		t.Errorf("X-Amz-Expires: got %q, want expires_in %d", got, res.ExpiresIn)
	}
	if date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date")); err != nil || !date.Add(time.Duration(res.ExpiresIn)*time.Second).Equal(res.ExpiresAt) {
		t.Errorf("expires_at %s is not X-Amz-Date %s + expires_in %d", res.ExpiresAt, q.Get("X-Amz-Date"), res.ExpiresIn)
	}

	pr := p.refused(t, appToken, map[string]any{"bucket": bucketMain, "key": "short/x", "expires_in": 3600, "strict_ttl": true},
		http.StatusUnprocessableEntity)
	if pr.Code != "ttl_not_satisfiable" {
		t.Errorf("strict_ttl: code %q, want ttl_not_satisfiable", pr.Code)
	}

	// A lifetime the credentials can cover is not capped.
	res = p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "short/x", "expires_in": 60, "strict_ttl": true})
	if res.ExpiresIn != 60 || res.CappedBy != nil {
		t.Errorf("60 s under 10-minute credentials: got expires_in %d capped_by %v, want 60 uncapped", res.ExpiresIn, deref(res.CappedBy))
	}
}

func TestE2EDevMode(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, "dev-bucket")
	p := devPresignd(t, map[string]string{
		"AWS_ENDPOINT_URL_S3": s.Endpoint,
		"PRESIGND_DEV_BUCKET": "dev-bucket",
	})

	put := p.presign(t, config.DevToken, map[string]any{"bucket": "dev-bucket", "key": "hello/world.txt", "method": "PUT"})
	if !strings.HasPrefix(put.URL, s.Endpoint+"/dev-bucket/") {
		t.Errorf("URL %q is not path-style on the versitygw endpoint %s", testenv.RedactSignatures(put.URL), s.Endpoint)
	}
	if cred := mustParse(t, put.URL).Query().Get("X-Amz-Credential"); !strings.HasPrefix(cred, testenv.AccessKeyID+"/") {
		t.Errorf("X-Amz-Credential %q is not the example access key's", cred)
	}
	if r := use(t, put.Method, put.URL, put.Headers, []byte("hi")); r.status != http.StatusOK {
		t.Fatalf("PUT: got %d %s, want 200", r.status, testenv.Clip(r.body))
	}
	get := p.presign(t, config.DevToken, map[string]any{"bucket": "dev-bucket", "key": "hello/world.txt"})
	if r := use(t, get.Method, get.URL, get.Headers, nil); r.status != http.StatusOK || string(r.body) != "hi" {
		t.Errorf("GET: got %d %q, want 200 %q", r.status, r.body, "hi")
	}
	p.refused(t, config.DevToken, map[string]any{"bucket": bucketMain, "key": "x"}, http.StatusForbidden)

	var warned bool
	for _, l := range p.LogLines(t) {
		if l["level"] == "WARN" && strings.Contains(fmt.Sprint(l["msg"]), "NO AWS CREDENTIALS FOUND") &&
			strings.Contains(fmt.Sprint(l["msg"]), testenv.AccessKeyID) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no WARN line saying the example key pair is in use; log:\n%s", p.Logs())
	}
	if !strings.Contains(p.Logs(), "only from loopback origins") {
		t.Errorf("the start log does not say which origins may call; log:\n%s", p.Logs())
	}

	// The dev token is public and the signer holds the developer's credentials: only
	// pages on this machine may call the API from a browser.
	for _, tc := range []struct {
		origin  string
		allowed bool
	}{
		{"http://localhost:5173", true},
		{"http://127.0.0.1:8000", true},
		{"http://[::1]:3000", true},
		{"https://evil.example", false},
		{"http://localhost.evil.example", false},
		{"http://127.0.0.1.nip.io:8000", false},
		{"null", false},
		{"file://", false},
	} {
		for _, preflight := range []bool{true, false} {
			method, body := http.MethodPost, `{"bucket":"dev-bucket","key":"a.txt"}`
			if preflight {
				method, body = http.MethodOptions, ""
			}
			req, err := http.NewRequest(method, p.URL+"/v1/presign", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tc.origin)
			if preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			} else {
				req.Header.Set("Authorization", "Bearer "+config.DevToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("Access-Control-Allow-Origin")
			if want := map[bool]string{true: tc.origin}[tc.allowed]; got != want {
				t.Errorf("Origin %s (preflight %v): Access-Control-Allow-Origin %q, want %q", tc.origin, preflight, got, want)
			}
		}
	}
	if strings.Contains(p.Logs(), testenv.SecretAccessKey) {
		t.Errorf("the log contains the example secret key")
	}
}

// TestServeEphemeralPorts: listen and admin_listen can both ask for any free port.
func TestServeEphemeralPorts(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	p := startPresignd(t, testConfig(e2eClients, configOptions{S3: s, AdminListen: "127.0.0.1:0"}))
	if p.URL == p.AdminURL {
		t.Fatalf("API and admin share %s, want two listeners", p.URL)
	}
	resp, err := httpClient.Get(p.AdminURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz on the admin listener: got %d, want 200", resp.StatusCode)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	validPath := filepath.Join(dir, "valid.yaml")
	invalidPath := filepath.Join(dir, "invalid.yaml")
	writeFile(t, validPath, `listen: 127.0.0.1:8080
s3: {region: us-east-1}
clients:
`+clientYAML("app", appToken, `[{bucket: media, prefixes: ["a/"], methods: [GET], max_ttl: 1h}]`))
	writeFile(t, invalidPath, `listen: 127.0.0.1:8080
s3: {region: us-east-1}
clients:
`+clientYAML("app", appToken, `[{bucket: Media, prefixes: ["a/"], methods: [GET], max_ttl: 9d}]`))

	t.Run("version", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCommand(t, nil, "", "version")
		if code != 0 || !strings.HasPrefix(out, "presignd ") || !strings.Contains(out, runtime.Version()) || errOut != "" {
			t.Errorf("version: got %d %q %q, want 0, presignd <version> … %s", code, out, errOut, runtime.Version())
		}
	})

	t.Run("gen-token", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 2 {
			code, out, errOut := runCommand(t, nil, "", "gen-token")
			if code != 0 || errOut != "" {
				t.Fatalf("gen-token: got %d, stderr %q, want 0 and nothing on stderr", code, errOut)
			}
			var token, hash string
			if _, err := fmt.Sscanf(out, "token: %s\ntoken_sha256: %s\n", &token, &hash); err != nil {
				t.Fatalf("gen-token output %q is not token: …\\ntoken_sha256: …: %v", out, err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil || len(raw) < 32 {
				t.Errorf("token %q is not URL-safe base64 of at least 32 bytes", token)
			}
			if hash != config.HashToken(token) {
				t.Errorf("token_sha256: got %s, want %s", hash, config.HashToken(token))
			}
			if seen[token] {
				t.Errorf("gen-token printed the same token twice")
			}
			seen[token] = true
		}
	})

	t.Run("hash-token", func(t *testing.T) {
		t.Parallel()
		for _, stdin := range []string{"s3cret-token", "s3cret-token\n", "s3cret-token\r\n"} {
			code, out, errOut := runCommand(t, nil, stdin, "hash-token")
			if want := config.HashToken("s3cret-token") + "\n"; code != 0 || out != want || errOut != "" {
				t.Errorf("hash-token < %q: got %d %q %q, want 0 %q", stdin, code, out, errOut, want)
			}
		}
		for _, stdin := range []string{"", "\n", "two words\n"} {
			code, out, errOut := runCommand(t, nil, stdin, "hash-token")
			if code == 0 || out != "" {
				t.Errorf("hash-token < %q: got %d %q, want a non-zero exit and no output", stdin, code, out)
			}
			checkSentence(t, errOut)
		}
	})

	t.Run("check-config", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCommand(t, nil, "", "check-config", "--config", validPath)
		if code != 0 || out != "ok\n" {
			t.Errorf("check-config of a valid file: got %d %q %q, want 0 \"ok\\n\"", code, out, errOut)
		}
		code, out, _ = runCommand(t, map[string]string{"PRESIGND_CONFIG": validPath}, "", "check-config")
		if code != 0 || out != "ok\n" {
			t.Errorf("check-config with PRESIGND_CONFIG: got %d %q, want 0 \"ok\\n\"", code, out)
		}

		code, out, errOut = runCommand(t, nil, "", "check-config", "--config", invalidPath)
		if code != 1 || out != "" {
			t.Errorf("check-config of an invalid file: got %d %q, want 1 and nothing on stdout", code, out)
		}
		for _, path := range []string{"clients[0].grants[0].bucket", "clients[0].grants[0].max_ttl"} {
			if !strings.Contains(errOut, path) {
				t.Errorf("check-config does not name %s in:\n%s", path, errOut)
			}
		}

		code, out, errOut = runCommand(t, nil, "", "check-config", "--config", filepath.Join(dir, "missing.yaml"))
		if code != 1 || out != "" {
			t.Errorf("check-config of a missing file: got %d %q, want 1", code, out)
		}
		checkSentence(t, errOut)

		code, _, errOut = runCommand(t, nil, "", "check-config")
		if code != 1 {
			t.Errorf("check-config without a file: got %d, want 1", code)
		}
		checkSentence(t, errOut)
	})

	t.Run("unknown command", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCommand(t, nil, "", "frobnicate")
		if code == 0 || out != "" {
			t.Errorf("unknown command: got %d %q, want a non-zero exit", code, out)
		}
		checkSentence(t, errOut)
	})

	t.Run("serve without a config", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := runCommand(t, nil, "", "serve")
		if code != 1 {
			t.Errorf("serve without a config: got %d, want 1", code)
		}
		checkSentence(t, errOut)
		code, _, errOut = runCommand(t, nil, "", "serve", "--config", invalidPath)
		if code != 1 || !strings.Contains(errOut, "clients[0].grants[0].max_ttl") {
			t.Errorf("serve with an invalid config: got %d %q, want 1 naming the problem", code, errOut)
		}
	})
}

func TestPresignCommand(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	env := map[string]string{"PRESIGND_TOKEN": appToken}

	// GET URL, with the flags after the target as aws s3 presign takes them.
	e.upload(t, bucketMain, "cli/some file.txt", []byte("from the cli"))
	code, out, errOut := runCommand(t, env, "", "presign", "s3://"+bucketMain+"/cli/some file.txt", "--expires-in", "300", "--server", e.p.URL)
	if code != 0 || errOut != "" {
		t.Fatalf("presign: got %d, stderr %q, want 0 and nothing on stderr", code, errOut)
	}
	rawURL := strings.TrimSuffix(out, "\n")
	if strings.Contains(rawURL, "\n") || !strings.HasPrefix(rawURL, e.s3.Endpoint+"/") {
		t.Fatalf("presign printed %q, want one line holding a URL on %s", testenv.RedactSignatures(out), e.s3.Endpoint)
	}
	if got := mustParse(t, rawURL).Query().Get("X-Amz-Expires"); got != "300" {
		t.Errorf("X-Amz-Expires: got %q, want 300", got)
	}
	if r := use(t, "GET", rawURL, nil, nil); r.status != http.StatusOK || string(r.body) != "from the cli" {
		t.Errorf("GET on the printed URL: got %d %q, want 200 %q", r.status, r.body, "from the cli")
	}

	// PUT URL, flags first, server from PRESIGND_SERVER.
	env2 := map[string]string{"PRESIGND_TOKEN": appToken, "PRESIGND_SERVER": e.p.URL}
	code, out, errOut = runCommand(t, env2, "", "presign", "--http-method", "put", "s3://"+bucketMain+"/cli/uploaded.txt")
	if code != 0 {
		t.Fatalf("presign --http-method put: got %d, stderr %q", code, errOut)
	}
	if r := use(t, "PUT", strings.TrimSpace(out), nil, []byte("put by cli")); r.status != http.StatusOK {
		t.Fatalf("PUT on the printed URL: got %d %s", r.status, testenv.Clip(r.body))
	}
	if got := e.download(t, bucketMain, "cli/uploaded.txt", nil); string(got.body) != "put by cli" {
		t.Errorf("GET after the CLI PUT: got %d %q", got.status, testenv.Clip(got.body))
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // in stderr
	}{
		{"no token", map[string]string{}, []string{"s3://e2e/a", "--server", e.p.URL}, "PRESIGND_TOKEN"},
		{"wrong token", map[string]string{"PRESIGND_TOKEN": "nope"}, []string{"s3://e2e/a", "--server", e.p.URL}, "unauthenticated"},
		{"denied", env, []string{"s3://" + bucketOther + "/a", "--server", e.p.URL}, "bucket_not_allowed"},
		{"not an s3 URL", env, []string{"e2e/a", "--server", e.p.URL}, "s3://"},
		{"no key", env, []string{"s3://e2e", "--server", e.p.URL}, "s3://"},
		{"server down", env, []string{"s3://e2e/a", "--server", "http://127.0.0.1:1"}, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCommand(t, tc.env, "", append([]string{"presign"}, tc.args...)...)
			if code == 0 || out != "" {
				t.Errorf("got %d %q, want a non-zero exit and nothing on stdout", code, testenv.RedactSignatures(out))
			}
			checkSentence(t, errOut)
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.want)
			}
		})
	}
}

// wantS3Error fails unless S3 refused a request with the given status and error code.
func wantS3Error(t testing.TB, what string, r response, status int, code string) {
	t.Helper()
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(r.body, &e)
	if r.status != status || e.Code != code {
		t.Errorf("%s: got %d %q, want %d %s (body %s)", what, r.status, e.Code, status, code, testenv.Clip(r.body))
	}
}

// checkSentence fails unless msg is one line of text ending in a full stop, with
// no sign of a stack trace.
func checkSentence(t testing.TB, msg string) {
	t.Helper()
	line := strings.TrimSuffix(msg, "\n")
	switch {
	case line == "":
		t.Errorf("nothing on stderr, want one sentence")
	case strings.Contains(line, "\n"):
		t.Errorf("stderr has several lines, want one sentence:\n%s", msg)
	case !strings.HasSuffix(line, "."):
		t.Errorf("stderr %q does not end with a full stop", line)
	case strings.Contains(line, "goroutine ") || strings.Contains(line, "panic"):
		t.Errorf("stderr looks like a crash: %q", line)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t testing.TB, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("presignd returned a URL that does not parse: %v", err)
	}
	return u
}

func deref(s *string) string {
	if s == nil {
		return "(absent)"
	}
	return *s
}

// TestBinary runs the built command as a real process: it serves, and SIGTERM stops
// it cleanly with exit status 0.
func TestBinary(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(presigndBinary(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "presignd ") {
		t.Errorf("presignd version: got %q, %v", out, err)
	}

	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	p := startProcess(t, testConfig(e2eClients, configOptions{S3: s}))
	res := p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "bin/x", "method": "PUT"})
	if r := use(t, res.Method, res.URL, res.Headers, []byte("x")); r.status != http.StatusOK {
		t.Errorf("PUT on a URL from the binary: got %d %s", r.status, testenv.Clip(r.body))
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0; log:\n%s", p.exitErr, p.Logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("presignd did not exit within 60s of SIGTERM; log:\n%s", p.Logs())
	}
	if !strings.Contains(p.Logs(), `"msg":"stopped"`) {
		t.Errorf("no stopped line in the log:\n%s", p.Logs())
	}
}
