package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel/trace"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/app"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// Tokens of the clients in testdata/config.yaml.
const (
	reportsToken = "test-token-reports-6Q2vR8nT0xK4mW1zY7bC"
	limitedToken = "test-token-limited-3H9pL5sD2fG8jK1qW4eR"
	widgetToken  = "test-token-widget-8Jq2Lw5Zr7Vn3Xc1Bt6M"
)

// exampleSessionToken goes with testenv's example key pair where a test needs
// temporary credentials.
const exampleSessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"

// testNow is the pinned clock of the policy and the signer.
var testNow = time.Date(2026, 11, 22, 19, 45, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	// Nothing in these tests may reach the instance metadata service or read the
	// developer's own AWS setup.
	testenv.ScrubAWS()
	os.Exit(m.Run())
}

// secrets are the strings that must never appear in a problem, a header or a log line.
func secrets() []string {
	return []string{
		reportsToken, limitedToken, widgetToken,
		config.HashToken(reportsToken), config.HashToken(limitedToken), config.HashToken(widgetToken),
		testenv.AccessKeyID, testenv.SecretAccessKey, exampleSessionToken,
		"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
	}
}

// postRaw POSTs body to url with the bearer token (none when empty) and returns the
// whole answer.
func postRaw(t *testing.T, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	return sendRaw(t, http.MethodPost, url, token, body)
}

// sendRaw sends body to url with the method and bearer token (none when empty) and
// returns the response.
func sendRaw(t *testing.T, method, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, data
}

type fixtureOptions struct {
	// credentials replaces the static example key pair.
	credentials aws.CredentialsProvider
	// wrap wraps the real signer, to make it fail.
	wrap func(api.Presigner) api.Presigner
	// seen, when set, is where the fixture records the responses it validated.
	seen map[string]bool
	// tracer, when set, traces the API's requests.
	tracer trace.TracerProvider
}

// testUploadKey authenticates upload IDs, the same for every test server, so that an
// upload created on one can be continued on another.
var testUploadKey = []byte("test-upload-key-0123456789abcdef")

// fixture is a real api.Server, with the real signer, served over HTTP.
type fixture struct {
	srv  *api.Server
	url  string
	logs *syncbuf.Buffer
	spec *openAPI
	// seen records "METHOD path status" of every response validated against the spec.
	seen map[string]bool
}

// runtimeOf assembles the API's runtime from a test config, as presignd serve does.
func runtimeOf(t testing.TB, cfg *config.Config, sg api.Presigner) api.Runtime {
	t.Helper()
	rt, err := app.Runtime(cfg, sg, api.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func loadTestConfig(t testing.TB) *config.Config {
	t.Helper()
	data, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatalf("testdata/config.yaml: %v", err)
	}
	return cfg
}

func newSigner(t testing.TB, cfg *config.Config, creds aws.CredentialsProvider) *s3signer.Signer {
	t.Helper()
	if creds == nil {
		creds = s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey)
	}
	sg, err := s3signer.New(context.Background(), s3signer.Config{
		Default: s3signer.Target{
			Region:         cfg.S3.Region,
			Endpoint:       cfg.S3.Endpoint,
			PublicEndpoint: cfg.S3.PublicEndpoint,
			PathStyle:      cfg.S3.PathStyle,
		},
		Credentials: creds,
		Now:         func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func newServer(t testing.TB, o fixtureOptions, logs io.Writer) *api.Server {
	t.Helper()
	cfg := loadTestConfig(t)
	var p api.Presigner = newSigner(t, cfg, o.credentials)
	if o.wrap != nil {
		p = o.wrap(p)
	}
	srv, err := api.New(api.Options{
		Runtime:   runtimeOf(t, cfg, p),
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		Now:       func() time.Time { return testNow },
		Build:     api.BuildInfo{Version: "test", Revision: "test", GoVersion: "test"},
		UploadKey: testUploadKey,
		Tracer:    o.tracer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	logs := &syncbuf.Buffer{}
	srv := newServer(t, o, logs)
	ts := httptest.NewServer(srv.Handler(true))
	t.Cleanup(ts.Close)
	seen := o.seen
	if seen == nil {
		seen = map[string]bool{}
	}
	return &fixture{srv: srv, url: ts.URL, logs: logs, spec: specFor(t), seen: seen}
}

// result is one exchange: the response, its decoded body, and the audit lines it caused.
type result struct {
	status    int
	header    http.Header
	body      []byte
	problem   api.Problem
	presigned presigned
	audit     []auditLine
	logs      string // everything logged during the exchange
}

// presigned is the 200 body, decoded independently of the server's types.
type presigned struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	Headers   map[string]string `json:"headers"`
	CappedBy  string            `json:"capped_by"`
}

type auditLine map[string]any

func (a auditLine) str(k string) string { s, _ := a[k].(string); return s }
func (a auditLine) num(k string) int64  { n, _ := a[k].(float64); return int64(n) }

// do sends a request, validates the response against openapi.yaml, and checks that
// nothing it answered or logged holds a secret.
func (f *fixture) do(t testing.TB, req *http.Request, reqBody []byte) result {
	t.Helper()
	before := len(f.logs.String())
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := result{status: res.StatusCode, header: res.Header, body: body, logs: f.logs.String()[before:]}
	path := f.spec.check(t, req, res, body)
	f.seen[req.Method+" "+path+" "+strconv.Itoa(res.StatusCode)] = true

	if res.StatusCode == http.StatusOK && req.URL.Path == "/v1/presign" {
		if err := json.Unmarshal(body, &r.presigned); err != nil {
			t.Fatalf("200 body is not JSON: %v: %s", err, body)
		}
	}
	if res.StatusCode >= 400 && req.URL.Path != "/readyz" && req.Method != http.MethodHead {
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%d Content-Type: got %q, want application/problem+json", res.StatusCode, ct)
		}
		if err := json.Unmarshal(body, &r.problem); err != nil {
			t.Fatalf("%d body is not JSON: %v: %s", res.StatusCode, err, body)
		}
		if r.problem.Status != res.StatusCode {
			t.Errorf("problem status: got %d, want the HTTP status %d", r.problem.Status, res.StatusCode)
		}
		if want := "urn:presignd:problem:" + r.problem.Code; r.problem.Type != want {
			t.Errorf("problem type: got %q, want %q", r.problem.Type, want)
		}
		assertNoSecrets(t, "the problem body", string(body))
	}
	if got := res.Header.Get("X-Request-Id"); got == "" {
		t.Error("the response has no X-Request-Id")
	} else if id := req.Header.Get("X-Request-Id"); id != "" && validRequestID(id) && got != id {
		t.Errorf("X-Request-Id: got %q, want the request's %q echoed", got, id)
	}
	var hdr strings.Builder
	h := res.Header
	if res.StatusCode == http.StatusTemporaryRedirect {
		// A link's redirect is the one response that carries its URL, in Location.
		h = h.Clone()
		h.Del("Location")
	}
	_ = h.Write(&hdr)
	assertNoSecrets(t, "the response headers", hdr.String())

	assertNoSecrets(t, "the log", r.logs)
	if r.presigned.URL != "" && strings.Contains(r.logs, r.presigned.URL) {
		t.Error("the log holds the issued URL")
	}
	if u, err := url.Parse(r.presigned.URL); err == nil && r.presigned.URL != "" {
		if sig := u.Query().Get("X-Amz-Signature"); sig == "" || strings.Contains(r.logs, sig) {
			t.Errorf("the URL has no signature, or the log holds it (signature %q)", sig)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(r.logs))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var line auditLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, sc.Text())
		}
		if line.str("msg") == "presign" {
			r.audit = append(r.audit, line)
		}
	}
	return r
}

// noRedirects is the client of the fixture: a redirect is an answer to check, not
// to follow.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func validRequestID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func (f *fixture) request(t testing.TB, method, path, token string, body []byte, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// post sends body to POST /v1/presign with the token; header holds extra name, value pairs.
func (f *fixture) post(t testing.TB, token, body string, header ...string) result {
	t.Helper()
	b := []byte(body)
	return f.do(t, f.request(t, http.MethodPost, "/v1/presign", token, b, header...), b)
}

// postTo sends body to POST path with the token.
func (f *fixture) postTo(t testing.TB, path, token, body string) result {
	t.Helper()
	b := []byte(body)
	return f.do(t, f.request(t, http.MethodPost, path, token, b), b)
}

func (f *fixture) get(t testing.TB, path string, header ...string) result {
	t.Helper()
	return f.do(t, f.request(t, http.MethodGet, path, "", nil, header...), nil)
}

// assertCovered checks that every status the spec documents for an operation was seen.
func (f *fixture) assertCovered(t *testing.T, method, path string) {
	t.Helper()
	for _, code := range documentedStatuses(t, method, path) {
		if !f.seen[method+" "+path+" "+code] {
			t.Errorf("openapi.yaml documents %s %s → %s, which no test case produced", method, path, code)
		}
	}
}

func assertNoSecrets(t testing.TB, where, text string) {
	t.Helper()
	for _, s := range secrets() {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %q", where, s)
		}
	}
}

// presignCase is one POST /v1/presign exchange and what it must produce.
type presignCase struct {
	name   string
	token  string // default reportsToken; "-" sends no Authorization
	auth   string // a raw Authorization header, instead of token
	body   string
	header []string // extra header name, value pairs
	status int
	code   string // problem code, for errors
	reason string // 403 reason
	check  func(t *testing.T, r result)
}

// wantAudit is the outcome and reason the audit line of a case must carry, and whether
// there is one: requests refused before a decision (401, 404, 405) make none.
func (c presignCase) wantAudit() (outcome, reason string, logged bool) {
	switch c.status {
	case http.StatusOK:
		return "issued", "", true
	case http.StatusForbidden:
		return "denied", c.reason, true
	case http.StatusUnprocessableEntity:
		return "denied", c.code, true
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "invalid", c.code, true
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		return "error", c.code, true
	case http.StatusTooManyRequests:
		return "rate_limited", "", true
	}
	return "", "", false
}

func (c presignCase) run(t *testing.T, f *fixture) result {
	t.Helper()
	token := c.token
	switch token {
	case "":
		token = reportsToken
	case "-":
		token = ""
	}
	header := c.header
	if c.auth != "" {
		header = append(slices.Clone(header), "Authorization", c.auth)
	}
	r := f.post(t, token, c.body, header...)
	if r.status != c.status {
		t.Fatalf("status: got %d, want %d\nbody: %s", r.status, c.status, testenv.Clip(r.body))
	}
	if c.status >= 400 {
		if r.problem.Code != c.code {
			t.Errorf("code: got %q, want %q (detail %q)", r.problem.Code, c.code, r.problem.Detail)
		}
		if r.problem.Reason != c.reason {
			t.Errorf("reason: got %q, want %q", r.problem.Reason, c.reason)
		}
		if r.problem.Detail == "" {
			t.Error("the problem has no detail")
		}
	}
	outcome, reason, logged := c.wantAudit()
	switch {
	case !logged && len(r.audit) != 0:
		t.Errorf("got %d audit lines, want none: %v", len(r.audit), r.audit)
	case logged && len(r.audit) != 1:
		t.Errorf("got %d audit lines, want 1: %v", len(r.audit), r.audit)
	case logged:
		a := r.audit[0]
		if a.str("outcome") != outcome || a.str("reason") != reason {
			t.Errorf("audit outcome, reason: got %q, %q, want %q, %q", a.str("outcome"), a.str("reason"), outcome, reason)
		}
		if a.str("request_id") != r.header.Get("X-Request-Id") {
			t.Errorf("audit request_id: got %q, want the response's X-Request-Id %q", a.str("request_id"), r.header.Get("X-Request-Id"))
		}
		for _, k := range []string{"request_id", "client", "bucket", "key", "method", "requested_ttl", "expires_in", "capped_by", "outcome", "reason"} {
			if _, ok := a[k]; !ok {
				t.Errorf("the audit line has no %s: %v", k, a)
			}
		}
		if c.status == http.StatusOK {
			checkIssuedAudit(t, a, r, c.body)
		}
	}
	if c.check != nil {
		c.check(t, r)
	}
	return r
}

// checkIssuedAudit checks that the audit line of an issued URL says what was signed.
func checkIssuedAudit(t *testing.T, a auditLine, r result, reqBody string) {
	t.Helper()
	var req struct {
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		ExpiresIn *int64 `json:"expires_in"`
	}
	_ = json.Unmarshal([]byte(reqBody), &req)
	requested := int64(api.DefaultExpiresIn)
	if req.ExpiresIn != nil {
		requested = *req.ExpiresIn
	}
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"client", a.str("client"), "reports"},
		{"bucket", a.str("bucket"), req.Bucket},
		{"key", a.str("key"), req.Key},
		{"method", a.str("method"), r.presigned.Method},
		{"requested_ttl", a.num("requested_ttl"), requested},
		{"expires_in", a.num("expires_in"), r.presigned.ExpiresIn},
		{"capped_by", a.str("capped_by"), r.presigned.CappedBy},
	} {
		if c.got != c.want {
			t.Errorf("audit %s: got %v, want %v", c.field, c.got, c.want)
		}
	}
}

// signedURL is an issued URL taken apart.
type signedURL struct {
	*url.URL
	query url.Values
}

func parseSigned(t *testing.T, r result) signedURL {
	t.Helper()
	u, err := url.Parse(r.presigned.URL)
	if err != nil {
		t.Fatalf("url %q: %v", r.presigned.URL, err)
	}
	return signedURL{u, u.Query()}
}

// checkIssued checks what every issued URL must satisfy: it points at the configured
// endpoint, path-style, at exactly bucket/key; it is signed at the pinned time for
// expires_in seconds; headers lists exactly the signed headers other than host; and the
// SDK added no checksum the caller did not ask for.
func checkIssued(t *testing.T, r result, bucket, key, method string, expiresIn int64, cappedBy string) signedURL {
	t.Helper()
	u := parseSigned(t, r)
	if u.Scheme != "http" || u.Host != "127.0.0.1:7070" {
		t.Errorf("url host: got %s://%s, want http://127.0.0.1:7070", u.Scheme, u.Host)
	}
	if want := "/" + bucket + "/" + key; u.Path != want {
		t.Errorf("url path: got %q, want %q", u.Path, want)
	}
	if r.presigned.Method != method {
		t.Errorf("method: got %q, want %q", r.presigned.Method, method)
	}
	if r.presigned.ExpiresIn != expiresIn {
		t.Errorf("expires_in: got %d, want %d", r.presigned.ExpiresIn, expiresIn)
	}
	if r.presigned.CappedBy != cappedBy {
		t.Errorf("capped_by: got %q, want %q", r.presigned.CappedBy, cappedBy)
	}
	if want := testNow.Add(time.Duration(expiresIn) * time.Second); !r.presigned.ExpiresAt.Equal(want) {
		t.Errorf("expires_at: got %s, want %s", r.presigned.ExpiresAt, want)
	}
	if got := u.query.Get("X-Amz-Date"); got != "20261122T194500Z" {
		t.Errorf("X-Amz-Date: got %q, want the pinned 20261122T194500Z", got)
	}
	if got, want := u.query.Get("X-Amz-Expires"), strconv.FormatInt(expiresIn, 10); got != want {
		t.Errorf("X-Amz-Expires: got %q, want %q", got, want)
	}
	if got := u.query.Get("X-Amz-Credential"); !strings.HasPrefix(got, testenv.AccessKeyID+"/20261122/us-east-1/s3/aws4_request") {
		t.Errorf("X-Amz-Credential: got %q", got)
	}
	var signed []string
	for h := range strings.SplitSeq(u.query.Get("X-Amz-SignedHeaders"), ";") {
		if h != "host" {
			signed = append(signed, http.CanonicalHeaderKey(h))
		}
	}
	slices.Sort(signed)
	if got := sortedKeys(r.presigned.Headers); !slices.Equal(got, signed) {
		t.Errorf("headers: got %v, want the signed headers other than host %v", got, signed)
	}
	for name := range u.query {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-sdk-checksum-algorithm" {
			t.Errorf("the URL carries %s, which the caller did not ask for", name)
		}
	}
	return u
}

func TestPresign(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	const checksum = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" // SHA-256 of nothing
	key1024 := "reports/" + strings.Repeat("é", 508)                // 8 + 1016 bytes
	bigValid := `{"bucket":"media","key":"reports/big"}` + strings.Repeat(" ", 64<<10-len(`{"bucket":"media","key":"reports/big"}`))

	cases := []presignCase{
		// Success.
		{name: "GET with defaults", body: `{"bucket":"media","key":"reports/2026/q3 summary (final)+1=2&x;y,z.pdf"}`, status: 200,
			check: func(t *testing.T, r result) {
				u := checkIssued(t, r, "media", "reports/2026/q3 summary (final)+1=2&x;y,z.pdf", "GET", 3600, "")
				if len(r.presigned.Headers) != 0 {
					t.Errorf("headers: got %v, want none", r.presigned.Headers)
				}
				if !strings.Contains(u.EscapedPath(), "%20") || !strings.Contains(u.EscapedPath(), "%2B") {
					t.Errorf("the key is not escaped in the URL: %s", u.EscapedPath())
				}
			}},
		{name: "PUT with every upload field", status: 200,
			body: `{"bucket":"media","key":"uploads/u-42/ävatar 1.png","method":"PUT","expires_in":600,"content_type":"image/png","content_length":1234,` +
				`"checksum_sha256":"` + checksum + `","metadata":{"Owner":"u-42","trace_id":"abc 123"}}`,
			check: func(t *testing.T, r result) {
				checkIssued(t, r, "media", "uploads/u-42/ävatar 1.png", "PUT", 600, "")
				want := map[string]string{
					"Content-Type": "image/png", "Content-Length": "1234", "X-Amz-Checksum-Sha256": checksum,
					"X-Amz-Meta-Owner": "u-42", "X-Amz-Meta-Trace_id": "abc 123",
				}
				for k, v := range want {
					if r.presigned.Headers[k] != v {
						t.Errorf("headers[%s]: got %q, want %q (all: %v)", k, r.presigned.Headers[k], v, r.presigned.Headers)
					}
				}
			}},
		{name: "PUT without upload rules", body: `{"bucket":"media","key":"drop/x.bin","method":"PUT","expires_in":60}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", "drop/x.bin", "PUT", 60, "") }},
		{name: "PUT with a content type matched by a wildcard and parameters", body: `{"bucket":"media","key":"uploads/a.txt","method":"put","content_type":"Text/Plain; charset=utf-8","content_length":5}`, status: 200,
			check: func(t *testing.T, r result) {
				checkIssued(t, r, "media", "uploads/a.txt", "PUT", 3600, "")
				if r.presigned.Headers["Content-Type"] != "Text/Plain; charset=utf-8" || r.presigned.Headers["Content-Length"] != "5" {
					t.Errorf("headers: got %v", r.presigned.Headers)
				}
			}},
		{name: "content_length 0, which S3 clients leave unsigned", body: `{"bucket":"media","key":"uploads/empty.txt","method":"PUT","content_type":"text/plain","content_length":0}`, status: 400, code: "invalid_request"},
		{name: "HEAD with response overrides", body: `{"bucket":"media","key":"reports/a.csv","method":"HEAD","expires_in":120,"response_content_type":"text/csv","response_cache_control":"no-cache"}`, status: 200,
			check: func(t *testing.T, r result) {
				u := checkIssued(t, r, "media", "reports/a.csv", "HEAD", 120, "")
				if u.query.Get("response-content-type") != "text/csv" || u.query.Get("response-cache-control") != "no-cache" {
					t.Errorf("response overrides are not signed into the URL: %v", u.query)
				}
			}},
		{name: "DELETE with version_id", body: `{"bucket":"media","key":"reports/old.csv","method":"DELETE","version_id":"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"}`, status: 200,
			check: func(t *testing.T, r result) {
				u := checkIssued(t, r, "media", "reports/old.csv", "DELETE", 3600, "")
				if got := u.query.Get("versionId"); got != "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" {
					t.Errorf("versionId: got %q", got)
				}
			}},
		{name: "GET with download_filename", body: `{"bucket":"media","key":"reports/r.pdf","download_filename":"Q3 résumé \"final\".pdf"}`, status: 200,
			check: func(t *testing.T, r result) {
				u := checkIssued(t, r, "media", "reports/r.pdf", "GET", 3600, "")
				want := `attachment; filename="Q3 r_sum_ _final_.pdf"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9%20%22final%22.pdf`
				if got := u.query.Get("response-content-disposition"); got != want {
					t.Errorf("response-content-disposition: got %q, want %q", got, want)
				}
			}},
		{name: "GET with response_content_disposition", body: `{"bucket":"media","key":"reports/r.pdf","response_content_disposition":"inline"}`, status: 200,
			check: func(t *testing.T, r result) {
				u := checkIssued(t, r, "media", "reports/r.pdf", "GET", 3600, "")
				if got := u.query.Get("response-content-disposition"); got != "inline" {
					t.Errorf("response-content-disposition: got %q", got)
				}
			}},
		{name: "capped by the grant", body: `{"bucket":"media","key":"reports/a","expires_in":100000}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", "reports/a", "GET", 86400, "policy") }},
		{name: "seven days on a 7d grant is not capped", body: `{"bucket":"archive","key":"any/where","expires_in":604800,"strict_ttl":true}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "archive", "any/where", "GET", 604800, "") }},
		{name: "above seven days on a 7d grant is capped by the grant first", body: `{"bucket":"archive","key":"x","expires_in":604801}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "archive", "x", "GET", 604800, "policy") }},
		{name: "prefix with the client placeholder", body: `{"bucket":"media","key":"shared/reports/x"}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", "shared/reports/x", "GET", 3600, "") }},
		{name: "key of 1024 bytes", body: `{"bucket":"media","key":"` + key1024 + `"}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", key1024, "GET", 3600, "") }},
		{name: "key with an escaped surrogate pair", body: `{"bucket":"media","key":"reports/\ud83d\ude00"}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", "reports/😀", "GET", 3600, "") }},
		{name: "key with escaped characters", body: `{"bucket":"media","key":"reports\/a\"b\\c\u00e9"}`, status: 200,
			check: func(t *testing.T, r result) { checkIssued(t, r, "media", `reports/a"b\cé`, "GET", 3600, "") }},
		{name: "body sent as text/plain", body: `{"bucket":"media","key":"reports/a"}`, header: []string{"Content-Type", "text/plain"}, status: 200},
		{name: "body sent as a form (curl -d)", body: `{"bucket":"media","key":"reports/a"}`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 200},
		{name: "body of exactly 64 KiB", body: bigValid, status: 200},
		{name: "caller's X-Request-Id is echoed", body: `{"bucket":"media","key":"reports/a"}`, header: []string{"X-Request-Id", "req-42/abc"}, status: 200,
			check: func(t *testing.T, r result) {
				if got := r.header.Get("X-Request-Id"); got != "req-42/abc" {
					t.Errorf("X-Request-Id: got %q, want req-42/abc", got)
				}
			}},
		{name: "unusable X-Request-Id is replaced", body: `{"bucket":"media","key":"reports/a"}`, header: []string{"X-Request-Id", "has space"}, status: 200,
			check: func(t *testing.T, r result) {
				if got := r.header.Get("X-Request-Id"); got == "has space" || len(got) != 24 {
					t.Errorf("X-Request-Id: got %q, want 24 generated hex digits", got)
				}
			}},

		// 400 invalid_request.
		{name: "empty body", body: ``, status: 400, code: "invalid_request"},
		{name: "not JSON", body: `{"bucket": media}`, status: 400, code: "invalid_request"},
		{name: "truncated JSON", body: `{"bucket":"media","key":"reports/a"`, status: 400, code: "invalid_request"},
		{name: "JSON array", body: `[{"bucket":"media","key":"reports/a"}]`, status: 400, code: "invalid_request"},
		{name: "JSON string", body: `"reports/a"`, status: 400, code: "invalid_request"},
		{name: "data after the object", body: `{"bucket":"media","key":"reports/a"} {}`, status: 400, code: "invalid_request"},
		{name: "bucket of the wrong type", body: `{"bucket":5,"key":"reports/a"}`, status: 400, code: "invalid_request"},
		{name: "key of the wrong type", body: `{"bucket":"media","key":["reports/a"]}`, status: 400, code: "invalid_request"},
		{name: "expires_in as a string", body: `{"bucket":"media","key":"reports/a","expires_in":"60"}`, status: 400, code: "invalid_request"},
		{name: "expires_in as a fraction", body: `{"bucket":"media","key":"reports/a","expires_in":1.5}`, status: 400, code: "invalid_request"},
		{name: "expires_in beyond int64", body: `{"bucket":"media","key":"reports/a","expires_in":1e30}`, status: 400, code: "invalid_request"},
		{name: "strict_ttl as a string", body: `{"bucket":"media","key":"reports/a","strict_ttl":"yes"}`, status: 400, code: "invalid_request"},
		{name: "metadata value of the wrong type", body: `{"bucket":"media","key":"uploads/a","method":"PUT","metadata":{"a":1}}`, status: 400, code: "invalid_request"},
		{name: "unknown field", body: `{"bucket":"media","key":"reports/a","acl":"public-read"}`, status: 400, code: "invalid_request"},
		{name: "missing bucket", body: `{"key":"reports/a"}`, status: 400, code: "invalid_request"},
		{name: "missing key", body: `{"bucket":"media"}`, status: 400, code: "invalid_request"},
		{name: "null key", body: `{"bucket":"media","key":null}`, status: 400, code: "invalid_request"},
		{name: "version_id with PUT", body: `{"bucket":"media","key":"drop/a","method":"PUT","version_id":"v1"}`, status: 400, code: "invalid_request"},
		{name: "content_type with GET", body: `{"bucket":"media","key":"reports/a","content_type":"text/plain"}`, status: 400, code: "invalid_request"},
		{name: "content_length with HEAD", body: `{"bucket":"media","key":"reports/a","method":"HEAD","content_length":1}`, status: 400, code: "invalid_request"},
		{name: "metadata with DELETE", body: `{"bucket":"media","key":"reports/a","method":"DELETE","metadata":{"a":"b"}}`, status: 400, code: "invalid_request"},
		{name: "download_filename with PUT", body: `{"bucket":"media","key":"drop/a","method":"PUT","download_filename":"a.txt"}`, status: 400, code: "invalid_request"},
		{name: "download_filename with response_content_disposition", body: `{"bucket":"media","key":"reports/a","download_filename":"a.txt","response_content_disposition":"inline"}`, status: 400, code: "invalid_request"},
		{name: "download_filename with a slash", body: `{"bucket":"media","key":"reports/a","download_filename":"../a.txt"}`, status: 400, code: "invalid_request"},
		{name: "negative content_length", body: `{"bucket":"media","key":"drop/a","method":"PUT","content_length":-1}`, status: 400, code: "invalid_request"},
		{name: "content_length above 5 TiB", body: `{"bucket":"media","key":"drop/a","method":"PUT","content_length":5497558138881}`, status: 400, code: "invalid_request"},
		{name: "checksum that is not base64", body: `{"bucket":"media","key":"drop/a","method":"PUT","checksum_sha256":"not base64!"}`, status: 400, code: "invalid_request"},
		{name: "checksum of the wrong length", body: `{"bucket":"media","key":"drop/a","method":"PUT","checksum_sha256":"AAAA"}`, status: 400, code: "invalid_request"},
		{name: "checksum with a line break", body: `{"bucket":"media","key":"drop/a","method":"PUT","checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n"}`, status: 400, code: "invalid_request"},
		{name: "content_type with a line break", body: `{"bucket":"media","key":"uploads/a","method":"PUT","content_type":"image/png\r\nX-Evil: 1","content_length":1}`, status: 400, code: "invalid_request"},
		{name: "metadata name with a space", body: `{"bucket":"media","key":"drop/a","method":"PUT","metadata":{"a b":"c"}}`, status: 400, code: "invalid_request"},
		{name: "metadata names differing in case", body: `{"bucket":"media","key":"drop/a","method":"PUT","metadata":{"Owner":"a","owner":"b"}}`, status: 400, code: "invalid_request"},
		{name: "metadata over 2 KiB", body: `{"bucket":"media","key":"drop/a","method":"PUT","metadata":{"a":"` + strings.Repeat("x", 1000) + `","b":"` + strings.Repeat("x", 1000) + `","c":"` + strings.Repeat("x", 100) + `"}}`, status: 400, code: "invalid_request"},
		{name: "bytes that are not UTF-8 outside the key", body: "{\"bucket\":\"media\",\"key\":\"drop/a\",\"method\":\"PUT\",\"metadata\":{\"a\":\"\xff\"}}", status: 400, code: "invalid_request"},
		{name: "lone surrogate outside the key", body: `{"bucket":"media","key":"reports/a","download_filename":"a\ud800.txt"}`, status: 400, code: "invalid_request"},

		// 400 invalid_bucket, invalid_key, invalid_method, invalid_expires_in.
		{name: "bucket too short", body: `{"bucket":"ab","key":"reports/a"}`, status: 400, code: "invalid_bucket"},
		{name: "bucket with capitals", body: `{"bucket":"Media","key":"reports/a"}`, status: 400, code: "invalid_bucket"},
		{name: "bucket that is an IP address", body: `{"bucket":"192.168.1.1","key":"reports/a"}`, status: 400, code: "invalid_bucket"},
		{name: "bucket with two dots", body: `{"bucket":"me..dia","key":"reports/a"}`, status: 400, code: "invalid_bucket"},
		{name: "bucket with bytes that are not UTF-8", body: "{\"bucket\":\"me\xffdia\",\"key\":\"reports/a\"}", status: 400, code: "invalid_bucket"},
		{name: "empty key", body: `{"bucket":"media","key":""}`, status: 400, code: "invalid_key"},
		{name: "key with a leading slash", body: `{"bucket":"media","key":"/reports/a"}`, status: 400, code: "invalid_key"},
		{name: "key with a double slash", body: `{"bucket":"media","key":"reports//a"}`, status: 400, code: "invalid_key"},
		{name: "key with a dot-dot segment", body: `{"bucket":"media","key":"reports/../secret/a"}`, status: 400, code: "invalid_key"},
		{name: "key with a dot segment", body: `{"bucket":"media","key":"reports/./a"}`, status: 400, code: "invalid_key"},
		{name: "key ending in a dot-dot segment", body: `{"bucket":"media","key":"reports/.."}`, status: 400, code: "invalid_key"},
		{name: "key with NUL", body: `{"bucket":"media","key":"reports/a\u0000b"}`, status: 400, code: "invalid_key"},
		{name: "key with a newline", body: `{"bucket":"media","key":"reports/a\nb"}`, status: 400, code: "invalid_key"},
		{name: "key with DEL", body: `{"bucket":"media","key":"reports/a\u007fb"}`, status: 400, code: "invalid_key"},
		{name: "key with a C1 control", body: `{"bucket":"media","key":"reports/a\u0085b"}`, status: 400, code: "invalid_key"},
		{name: "key of 1025 bytes", body: `{"bucket":"media","key":"` + key1024 + `x"}`, status: 400, code: "invalid_key"},
		{name: "key with raw 0xFF bytes", body: "{\"bucket\":\"media\",\"key\":\"reports/\xff\xfe.txt\"}", status: 400, code: "invalid_key"},
		{name: "key with a truncated UTF-8 sequence", body: "{\"bucket\":\"media\",\"key\":\"reports/\xc3\"}", status: 400, code: "invalid_key"},
		{name: "key that would decode to U+FFFD", body: "{\"bucket\":\"media\",\"key\":\"reports/\xed\xa0\x80\"}", status: 400, code: "invalid_key"},
		{name: "key with a lone high surrogate", body: `{"bucket":"media","key":"reports/\ud800"}`, status: 400, code: "invalid_key"},
		{name: "key with a lone low surrogate", body: `{"bucket":"media","key":"reports/\udc00x"}`, status: 400, code: "invalid_key"},
		{name: "key with a high surrogate before a letter", body: `{"bucket":"media","key":"reports/\ud800\u0041"}`, status: 400, code: "invalid_key"},
		{name: "method POST", body: `{"bucket":"media","key":"reports/a","method":"POST"}`, status: 400, code: "invalid_method"},
		{name: "method with a space", body: `{"bucket":"media","key":"reports/a","method":"GET "}`, status: 400, code: "invalid_method"},
		{name: "expires_in 0", body: `{"bucket":"media","key":"reports/a","expires_in":0}`, status: 400, code: "invalid_expires_in"},
		{name: "expires_in negative", body: `{"bucket":"media","key":"reports/a","expires_in":-60}`, status: 400, code: "invalid_expires_in"},

		// 401.
		{name: "no Authorization", token: "-", body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "missing",
			check: checkUnauthenticated},
		{name: "Authorization of another scheme", auth: "Basic " + reportsToken, body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "malformed",
			check: checkUnauthenticated},
		{name: "Bearer without a token", auth: "Bearer", body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "malformed",
			check: checkUnauthenticated},
		{name: "Bearer with two tokens", auth: "Bearer " + reportsToken + " " + reportsToken, body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "malformed",
			check: checkUnauthenticated},
		{name: "unknown token", token: reportsToken + "x", body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "unknown_token",
			check: func(t *testing.T, r result) {
				checkUnauthenticated(t, r)
				if strings.Contains(string(r.body), reportsToken+"x") || strings.Contains(string(r.body), config.HashToken(reportsToken+"x")) {
					t.Errorf("the problem echoes the token or its hash: %s", r.body)
				}
			}},
		{name: "hash of a token used as the token", token: config.HashToken(reportsToken), body: `{"bucket":"media","key":"reports/a"}`, status: 401, code: "unauthenticated", reason: "unknown_token",
			check: checkUnauthenticated},

		// 403.
		{name: "bucket not granted", body: `{"bucket":"secret-bucket","key":"reports/a"}`, status: 403, code: "forbidden", reason: "bucket_not_allowed",
			check: func(t *testing.T, r result) {
				for _, other := range []string{"limited/", "uploads/", "archive"} {
					if strings.Contains(r.problem.Detail, other) {
						t.Errorf("the detail lists grants: %q", r.problem.Detail)
					}
				}
			}},
		{name: "prefix not granted", body: `{"bucket":"media","key":"secret/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "prefix boundary", body: `{"bucket":"media","key":"reports-evil/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "prefix without its slash", body: `{"bucket":"media","key":"reports"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "another client's prefix", body: `{"bucket":"media","key":"limited/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "another client's placeholder prefix", body: `{"bucket":"media","key":"shared/limited/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "prefix compared without case folding", body: `{"bucket":"media","key":"Reports/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "method not granted", body: `{"bucket":"media","key":"uploads/a.png","method":"DELETE"}`, status: 403, code: "forbidden", reason: "method_not_allowed"},
		{name: "PUT where only reads are granted", body: `{"bucket":"media","key":"reports/a","method":"PUT"}`, status: 403, code: "forbidden", reason: "method_not_allowed"},
		{name: "content type required", body: `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_length":10}`, status: 403, code: "forbidden", reason: "content_type_required"},
		{name: "content type not allowed", body: `{"bucket":"media","key":"uploads/a.zip","method":"PUT","content_type":"application/zip","content_length":10}`, status: 403, code: "forbidden", reason: "content_type_not_allowed"},
		{name: "content type prefix is not a wildcard", body: `{"bucket":"media","key":"uploads/a","method":"PUT","content_type":"image/pngx","content_length":10}`, status: 403, code: "forbidden", reason: "content_type_not_allowed"},
		{name: "content length required", body: `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png"}`, status: 403, code: "forbidden", reason: "content_length_required"},
		{name: "content length too large", body: `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":1048577}`, status: 403, code: "forbidden", reason: "content_length_too_large"},

		// 413, 422.
		{name: "body over 64 KiB", body: bigValid + " ", status: 413, code: "payload_too_large"},
		{name: "body far over 64 KiB", body: `{"bucket":"media","key":"reports/` + strings.Repeat("a", 1<<20) + `"}`, status: 413, code: "payload_too_large"},
		{name: "strict_ttl above the grant", body: `{"bucket":"media","key":"reports/a","expires_in":86401,"strict_ttl":true}`, status: 422, code: "ttl_not_satisfiable",
			check: func(t *testing.T, r result) {
				if !strings.Contains(r.problem.Detail, "policy") || !strings.Contains(r.problem.Detail, "86400") {
					t.Errorf("the detail does not name the limit and the lifetime: %q", r.problem.Detail)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, f) })
	}

	t.Run("the whole log holds no secret", func(t *testing.T) {
		assertNoSecrets(t, "the log", f.logs.String())
	})

	// The cases that need their own server.
	for _, c := range []struct {
		name string
		opts fixtureOptions
		c    presignCase
	}{
		{"credentials that fail", fixtureOptions{credentials: failingCredentials()},
			presignCase{body: `{"bucket":"media","key":"reports/a"}`, status: 503, code: "credentials_unavailable",
				check: func(t *testing.T, r result) {
					if strings.Contains(r.problem.Detail, "169.254") || strings.Contains(r.problem.Detail, "imds") {
						t.Errorf("the detail leaks the cause: %q", r.problem.Detail)
					}
				}}},
		{"credentials that expire too soon", fixtureOptions{credentials: expiringCredentials(testNow.Add(30 * time.Second))},
			presignCase{body: `{"bucket":"media","key":"reports/a"}`, status: 503, code: "credentials_unavailable"}},
		{"capped by the credentials", fixtureOptions{credentials: expiringCredentials(testNow.Add(2 * time.Hour))},
			presignCase{body: `{"bucket":"media","key":"reports/a","expires_in":86400}`, status: 200,
				check: func(t *testing.T, r result) {
					u := checkIssued(t, r, "media", "reports/a", "GET", 7200-60, "credentials")
					if u.query.Get("X-Amz-Security-Token") != exampleSessionToken {
						t.Errorf("the URL does not carry the session token of the credentials that capped it")
					}
				}}},
		{"capped by credentials that a refresh renews", fixtureOptions{credentials: renewingCredentials(testNow.Add(20*time.Minute), testNow.Add(12*time.Hour))},
			presignCase{body: `{"bucket":"media","key":"reports/a","expires_in":3600}`, status: 200,
				check: func(t *testing.T, r result) {
					u := checkIssued(t, r, "media", "reports/a", "GET", 3600, "")
					if u.query.Get("X-Amz-Security-Token") != exampleSessionToken {
						t.Errorf("the URL is signed with the credentials that capped it, not the renewed ones")
					}
				}}},
		{"strict_ttl capped by the credentials", fixtureOptions{credentials: expiringCredentials(testNow.Add(2 * time.Hour))},
			presignCase{body: `{"bucket":"media","key":"reports/a","expires_in":86400,"strict_ttl":true}`, status: 422, code: "ttl_not_satisfiable"}},
		{"signer error", fixtureOptions{wrap: func(p api.Presigner) api.Presigner { return failingPresigner{p} }},
			presignCase{body: `{"bucket":"media","key":"reports/a"}`, status: 500, code: "internal",
				check: func(t *testing.T, r result) {
					if strings.Contains(string(r.body), "cause-7f3a") {
						t.Errorf("the problem holds the cause: %s", r.body)
					}
					if !strings.Contains(r.logs, "cause-7f3a") || !strings.Contains(r.logs, r.header.Get("X-Request-Id")) {
						t.Errorf("the cause and request ID are not logged: %s", r.logs)
					}
				}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f2 := newFixture(t, c.opts)
			c.c.run(t, f2)
			maps := f2.seen
			for k := range maps {
				f.seen[k] = true
			}
		})
	}

	t.Run("rate limited", func(t *testing.T) {
		f2 := newFixture(t, fixtureOptions{})
		first := presignCase{token: limitedToken, body: `{"bucket":"media","key":"limited/a"}`, status: 200}
		r := f2.post(t, limitedToken, first.body)
		if r.status != 200 {
			t.Fatalf("first request: got %d, want 200: %s", r.status, r.body)
		}
		second := presignCase{token: limitedToken, body: first.body, status: 429, code: "rate_limited",
			check: func(t *testing.T, r result) {
				ra, err := strconv.Atoi(r.header.Get("Retry-After"))
				if err != nil || ra < 1 {
					t.Errorf("Retry-After: got %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
				}
				if ra < 900 || ra > 1000 {
					t.Errorf("Retry-After: got %d, want about 1000 at 0.001 rps", ra)
				}
			}}
		second.run(t, f2)
		// Another client is not limited by this one.
		if r := f2.post(t, reportsToken, `{"bucket":"media","key":"reports/a"}`); r.status != 200 {
			t.Errorf("another client: got %d, want 200", r.status)
		}
		for k := range f2.seen {
			f.seen[k] = true
		}
	})

	f.assertCovered(t, http.MethodPost, "/v1/presign")
}

func checkUnauthenticated(t *testing.T, r result) {
	t.Helper()
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate: got %q, want Bearer", got)
	}
}

func failingCredentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found (169.254.169.254 unreachable)")
	})
}

func expiringCredentials(at time.Time) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey, SessionToken: exampleSessionToken,
			Source: "test", CanExpire: true, Expires: at,
		}, nil
	})
}

// renewingCredentials hands out credentials that expire at first, then, from the
// second retrieval on, credentials that expire at then.
func renewingCredentials(first, then time.Time) aws.CredentialsProvider {
	var calls atomic.Int32
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := aws.Credentials{
			AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey, SessionToken: exampleSessionToken,
			Source: "test", CanExpire: true, Expires: then,
		}
		if calls.Add(1) == 1 {
			c.SessionToken, c.Expires = "FwoGZXIvYXdzEXAMPLEOLDTOKEN", first
		}
		return c, nil
	})
}

// failingPresigner is the real signer whose Presign fails with an unexpected error.
type failingPresigner struct{ api.Presigner }

func (failingPresigner) Presign(context.Context, signer.Request) (signer.Presigned, error) {
	return signer.Presigned{}, errors.New("cause-7f3a: the signer broke")
}

// panickingPresigner is the real signer whose Presign panics.
type panickingPresigner struct{ api.Presigner }

func (panickingPresigner) Presign(context.Context, signer.Request) (signer.Presigned, error) {
	panic("cause-9b1c: the signer panicked")
}

func TestPresignPanicIsA500(t *testing.T) {
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { return panickingPresigner{p} }})
	r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a"}`)
	if r.status != 500 || r.problem.Code != "internal" {
		t.Fatalf("got %d %q, want 500 internal", r.status, r.problem.Code)
	}
	if strings.Contains(string(r.body), "cause-9b1c") {
		t.Errorf("the problem holds the panic value: %s", r.body)
	}
	if !strings.Contains(r.logs, "cause-9b1c") {
		t.Errorf("the panic is not logged: %s", r.logs)
	}
	// The server keeps serving.
	if r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a"}`); r.status != 500 {
		t.Errorf("after a panic: got %d, want the same 500", r.status)
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, c := range []struct {
		name, method, path, token string
		status                    int
		code                      string
	}{
		{"unknown route", http.MethodGet, "/nope", "", 404, "not_found"},
		{"unknown route under /v1 with a token", http.MethodPost, "/v1/nope", reportsToken, 404, "not_found"},
		{"unknown route under /v1 without a token", http.MethodPost, "/v1/nope", "", 404, "not_found"},
		{"root", http.MethodGet, "/", "", 404, "not_found"},
		{"GET /v1/presign", http.MethodGet, "/v1/presign", reportsToken, 405, "method_not_allowed"},
		{"PUT /v1/presign", http.MethodPut, "/v1/presign", reportsToken, 405, "method_not_allowed"},
		{"GET /v1/presign without a token", http.MethodGet, "/v1/presign", "", 405, "method_not_allowed"},
		{"POST /v1/presign with an unknown token", http.MethodPost, "/v1/presign", "nope", 401, "unauthenticated"},
		{"POST /healthz", http.MethodPost, "/healthz", "", 405, "method_not_allowed"},
		{"DELETE /metrics", http.MethodDelete, "/metrics", "", 405, "method_not_allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, f.request(t, c.method, c.path, c.token, nil), nil)
			if r.status != c.status || r.problem.Code != c.code {
				t.Fatalf("got %d %q, want %d %q", r.status, r.problem.Code, c.status, c.code)
			}
			if len(r.audit) != 0 {
				t.Errorf("got %d audit lines, want none", len(r.audit))
			}
		})
	}
}

func TestAdmin(t *testing.T) {
	t.Run("healthy", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		for _, p := range []string{"/healthz", "/readyz"} {
			r := f.get(t, p)
			if r.status != 200 || string(r.body) != "{\"status\":\"ok\"}\n" {
				t.Errorf("GET %s: got %d %s, want 200 {\"status\":\"ok\"}", p, r.status, r.body)
			}
		}
		f.post(t, reportsToken, `{"bucket":"media","key":"reports/secret-report-name.pdf"}`)
		r := f.get(t, "/metrics")
		if r.status != 200 {
			t.Fatalf("GET /metrics: got %d", r.status)
		}
		for _, want := range []string{`presignd_presign_requests_total{client="reports",operation="presign",outcome="issued"} 1`, "presignd_build_info", "go_goroutines"} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		for _, bad := range append(secrets(), "secret-report-name", "reports/") {
			if strings.Contains(string(r.body), bad) {
				t.Errorf("/metrics holds %q", bad)
			}
		}
		f.srv.Drain()
		r = f.get(t, "/readyz")
		if r.status != 503 || !strings.Contains(string(r.body), `"detail":"draining"`) {
			t.Errorf("GET /readyz while draining: got %d %s, want 503 draining", r.status, r.body)
		}
		if r := f.get(t, "/healthz"); r.status != 200 {
			t.Errorf("GET /healthz while draining: got %d, want 200", r.status)
		}
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			f.assertCovered(t, http.MethodGet, p)
		}
	})
	t.Run("credentials unavailable", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{credentials: failingCredentials()})
		r := f.get(t, "/readyz")
		want := `{"status":"unavailable","detail":"signing credentials are unavailable"}` + "\n"
		if r.status != 503 || string(r.body) != want {
			t.Errorf("GET /readyz: got %d %s, want 503 %s", r.status, r.body, want)
		}
		if !strings.Contains(r.logs, "169.254.169.254 unreachable") {
			t.Errorf("the cause is not logged: %s", r.logs)
		}
		if strings.Contains(string(r.body), "169.254") {
			t.Errorf("the body holds the cause: %s", r.body)
		}
	})
	t.Run("admin handler alone", func(t *testing.T) {
		logs := &syncbuf.Buffer{}
		srv := newServer(t, fixtureOptions{}, logs)
		ts := httptest.NewServer(srv.AdminHandler())
		t.Cleanup(ts.Close)
		f := &fixture{srv: srv, url: ts.URL, logs: logs, spec: specFor(t), seen: map[string]bool{}}
		if r := f.get(t, "/healthz"); r.status != 200 {
			t.Errorf("GET /healthz: got %d", r.status)
		}
		r := f.do(t, f.request(t, http.MethodPost, "/v1/presign", reportsToken, []byte(`{"bucket":"media","key":"reports/a"}`)), nil)
		if r.status != 404 {
			t.Errorf("POST /v1/presign on the admin handler: got %d, want 404", r.status)
		}
	})
	t.Run("API handler without admin routes", func(t *testing.T) {
		logs := &syncbuf.Buffer{}
		srv := newServer(t, fixtureOptions{}, logs)
		ts := httptest.NewServer(srv.Handler(false))
		t.Cleanup(ts.Close)
		f := &fixture{srv: srv, url: ts.URL, logs: logs, spec: specFor(t), seen: map[string]bool{}}
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := f.get(t, p); r.status != 404 {
				t.Errorf("GET %s: got %d, want 404", p, r.status)
			}
		}
	})
}

// TestRequestsOfTheCasesMatchTheSpec checks the spec from the other side: every request
// the server answers with 200 is valid per openapi.yaml, and requests that are not JSON
// objects of the documented fields are invalid there too.
func TestRequestsOfTheCasesMatchTheSpec(t *testing.T) {
	s := specFor(t)
	f := newFixture(t, fixtureOptions{})
	for _, c := range []struct {
		body  string
		valid bool
	}{
		{`{"bucket":"media","key":"reports/a"}`, true},
		{`{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":5,"checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","metadata":{"Owner":"x"}}`, true},
		{`{"bucket":"media","key":"reports/a","method":"DELETE","version_id":"v"}`, true},
		{`{"bucket":"media","key":"reports/a","method":"HEAD","download_filename":"a b.pdf","expires_in":5,"strict_ttl":false}`, true},
		{`{"bucket":"media","key":"reports/a","acl":"private"}`, false},
		{`{"key":"reports/a"}`, false},
		{`{"bucket":"media","key":"reports/a","expires_in":"5"}`, false},
		{`{"bucket":"media","key":"reports/a","expires_in":0}`, false},
		{`{"bucket":"media","key":"reports/a","content_type":"text/plain"}`, false},
		{`{"bucket":"media","key":"drop/a","method":"PUT","version_id":"v"}`, false},
		{`{"bucket":"media","key":"reports/a","download_filename":"a","response_content_disposition":"inline"}`, false},
		{`{"bucket":"media","key":"drop/a","method":"PUT","metadata":{"a b":"c"}}`, false},
		{`{"bucket":"media","key":"drop/a","method":"PUT","checksum_sha256":"AAAA"}`, false},
		{`{"bucket":"media","key":"reports/a","method":"POST"}`, false},
	} {
		req := f.request(t, http.MethodPost, "/v1/presign", reportsToken, []byte(c.body))
		specOK, why := s.validRequest(req, []byte(c.body))
		if specOK != c.valid {
			t.Errorf("%s: openapi.yaml says valid=%v, want %v\n%s", c.body, specOK, c.valid, why)
		}
		r := f.do(t, req, []byte(c.body))
		if serverOK := r.status == 200; serverOK != c.valid {
			t.Errorf("%s: server answered %d %s, want valid=%v", c.body, r.status, r.problem.Code, c.valid)
		}
	}
}

// fakeS3 is the real signer with presignd's own S3 calls (multipart create, list,
// complete, abort) answered in memory; signing stays real.
type fakeS3 struct {
	api.Presigner
	mu      sync.Mutex
	parts   []signer.Part
	err     error // returned by every S3 call when set
	aborted int
	// abortErr, when set, is returned by AbortMultipartUpload instead of err.
	abortErr error
}

func (f *fakeS3) CreateMultipartUpload(context.Context, string, string, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	return "s3-upload-1", nil
}

func (f *fakeS3) ListParts(context.Context, string, string, string) ([]signer.Part, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.parts), f.err
}

func (f *fakeS3) CompleteMultipartUpload(context.Context, string, string, string, []signer.Part) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	return `"etag-of-the-object-2"`, nil
}

func (f *fakeS3) AbortMultipartUpload(context.Context, string, string, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborted++
	if f.abortErr != nil {
		return f.abortErr
	}
	return f.err
}

// failAbort makes AbortMultipartUpload alone fail with err (nil: as every call).
func (f *fakeS3) failAbort(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abortErr = err
}

func (f *fakeS3) set(parts []signer.Part, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parts, f.err = parts, err
}

// panickingCredentials is the real signer whose credential source panics, which makes
// every API operation a recovered 500.
type panickingCredentials struct{ api.Presigner }

func (panickingCredentials) Credentials(context.Context) (signer.Credentials, error) {
	panic("cause-4d2e: the credential source panicked")
}

func (p panickingCredentials) Decide(ctx context.Context, _ func(bool, time.Time) bool) (signer.Credentials, error) {
	return p.Credentials(ctx)
}

// answer holds the fields of every 200 body of the /v1 operations other than presign.
type answer struct {
	UploadID string `json:"upload_id"`
	Parts    []struct {
		PartNumber int    `json:"part_number"`
		URL        string `json:"url"`
	} `json:"parts"`
	ETag    string            `json:"etag"`
	Size    int64             `json:"size"`
	Aborted bool              `json:"aborted"`
	URL     string            `json:"url"`
	Key     string            `json:"key"`
	Fields  map[string]string `json:"fields"`
	Results []json.RawMessage `json:"results"`
	Allowed bool              `json:"allowed"`
	Code    string            `json:"code"`
	Reason  string            `json:"reason"`
	Grant   *struct {
		Index  int    `json:"index"`
		Prefix string `json:"prefix"`
	} `json:"grant"`
}

// apiOperations are the /v1 operations of the spec, with a body that is too large for each.
var apiOperations = map[string]int{
	"/v1/presign": 64 << 10, "/v1/presign/batch": 1 << 20, "/v1/presign/post": 64 << 10, "/v1/explain": 64 << 10,
	"/v1/multipart/create": 64 << 10, "/v1/multipart/parts": 64 << 10, "/v1/multipart/complete": 64 << 10, "/v1/multipart/abort": 64 << 10,
}

// TestEveryOperationMatchesTheSpec drives every /v1 operation through each status the
// spec documents for it, validating every response, then checks that none was missed.
func TestEveryOperationMatchesTheSpec(t *testing.T) {
	seen := map[string]bool{}
	s3 := &fakeS3{}
	f := newFixture(t, fixtureOptions{seen: seen, wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }})

	expect := func(t *testing.T, r result, status int, code, reason string) {
		t.Helper()
		if r.status != status || r.problem.Code != code || r.problem.Reason != reason {
			t.Fatalf("got %d %q %q, want %d %q %q\nbody: %s", r.status, r.problem.Code, r.problem.Reason, status, code, reason, testenv.Clip(r.body))
		}
	}
	var got answer
	decodeInto := func(t *testing.T, r result) {
		t.Helper()
		got = answer{}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("batch", func(t *testing.T) {
		r := f.postTo(t, "/v1/presign/batch", reportsToken, `{"requests":[`+
			`{"bucket":"media","key":"reports/a"},`+
			`{"bucket":"media","key":"secret/a"},`+
			`{"bucket":"media","key":"reports/../x"},`+
			`{"bucket":"media","key":"reports/b","expires_in":100000},`+
			`"not an object"]}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if len(got.Results) != 5 {
			t.Fatalf("got %d results, want 5", len(got.Results))
		}
		want := []string{"", "forbidden/prefix_not_allowed", "invalid_key/", "", "invalid_request/"}
		for i, raw := range got.Results {
			var item struct {
				URL      string       `json:"url"`
				CappedBy string       `json:"capped_by"`
				Error    *api.Problem `json:"error"`
			}
			_ = json.Unmarshal(raw, &item)
			switch {
			case want[i] == "" && (item.Error != nil || item.URL == ""):
				t.Errorf("result %d: got %s, want a URL", i, raw)
			case want[i] != "" && (item.Error == nil || item.Error.Code+"/"+item.Error.Reason != want[i]):
				t.Errorf("result %d: got %s, want the problem %s", i, raw, want[i])
			}
		}
		if len(r.audit) != 5 {
			t.Errorf("got %d audit lines, want one per item", len(r.audit))
		}
		expect(t, f.postTo(t, "/v1/presign/batch", reportsToken, `{"requests":[]}`), 400, "invalid_request", "")
		expect(t, f.postTo(t, "/v1/presign/batch", reportsToken, `{"requests":[`+strings.Repeat(`{},`, 1000)+`{}]}`), 400, "invalid_request", "")
	})

	t.Run("explain", func(t *testing.T) {
		r := f.postTo(t, "/v1/explain", reportsToken, `{"bucket":"media","key":"shared/reports/a","expires_in":100000}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if !got.Allowed || got.Grant == nil || got.Grant.Prefix != "shared/reports/" {
			t.Errorf("got %s, want allowed by the shared/reports/ prefix", r.body)
		}
		if len(r.audit) != 0 {
			t.Errorf("explain wrote %d audit lines, want none", len(r.audit))
		}
		r = f.postTo(t, "/v1/explain", reportsToken, `{"bucket":"media","key":"secret/a"}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if got.Allowed || got.Code != "forbidden" || got.Reason != "prefix_not_allowed" {
			t.Errorf("got %s, want not allowed, forbidden prefix_not_allowed", r.body)
		}
		if strings.Contains(string(r.body), "uploads/") || strings.Contains(string(r.body), "limited/") {
			t.Errorf("a denial lists grants: %s", r.body)
		}
		r = f.postTo(t, "/v1/explain", reportsToken, `{"bucket":"media","key":"reports/a","expires_in":100000,"strict_ttl":true}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if got.Allowed || got.Code != "ttl_not_satisfiable" {
			t.Errorf("got %s, want not allowed, ttl_not_satisfiable", r.body)
		}
		expect(t, f.postTo(t, "/v1/explain", reportsToken, `{"bucket":"media","key":"reports/../a"}`), 400, "invalid_key", "")
	})

	t.Run("POST policy", func(t *testing.T) {
		r := f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key":"uploads/a.png","content_type":"image/png","max_content_length":1000,"expires_in":600}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if got.Fields["key"] != "uploads/a.png" || got.Fields["Content-Type"] != "image/png" || got.Fields["policy"] == "" {
			t.Errorf("fields: got %v", got.Fields)
		}
		r = f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key_prefix":"uploads/u-1/","filename":"notes.txt","content_type":"text/plain"}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if !strings.HasPrefix(got.Key, "uploads/u-1/") || !strings.HasSuffix(got.Key, "/notes.txt") || got.Fields["key"] != got.Key {
			t.Errorf("key %q, key field %q: want one name under uploads/u-1/ ending in /notes.txt", got.Key, got.Fields["key"])
		}
		if len(r.audit) != 1 || r.audit[0].str("operation") != "presign_post" || r.audit[0].str("outcome") != "issued" {
			t.Errorf("audit: got %v, want one issued presign_post line", r.audit)
		}
		expect(t, f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key":"uploads/a.png","key_prefix":"uploads/"}`), 400, "invalid_request", "")
		expect(t, f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key_prefix":"uploads/","content_type":"image/gif"}`), 403, "forbidden", "content_type_not_allowed")
		expect(t, f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key_prefix":"uploads/","content_type_prefix":"image/"}`), 400, "invalid_request", "")
		expect(t, f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key":"reports/a"}`), 403, "forbidden", "method_not_allowed")
		expect(t, f.postTo(t, "/v1/presign/post", reportsToken, `{"bucket":"media","key":"uploads/a.png","content_type":"image/png","expires_in":7200,"strict_ttl":true}`), 422, "ttl_not_satisfiable", "")
	})

	t.Run("multipart", func(t *testing.T) {
		const where = `"bucket":"media","key":"big/movie.mp4"`
		// 12 MiB and 1 byte: parts of 5 MiB, 5 MiB and 2 MiB + 1.
		r := f.postTo(t, "/v1/multipart/create", reportsToken, `{`+where+`,"content_type":"video/mp4","content_length":12582913}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		id := got.UploadID
		if id == "" || strings.Contains(id, "s3-upload-1") {
			t.Fatalf("upload_id: got %q, want a sealed handle that does not show S3's ID", id)
		}

		r = f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[2,1],"expires_in":600}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if len(got.Parts) != 2 || got.Parts[0].PartNumber != 2 || !strings.Contains(got.Parts[0].URL, "partNumber=2") || !strings.Contains(got.Parts[0].URL, "uploadId=s3-upload-1") {
			t.Errorf("parts: got %s", r.body)
		}
		expect(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[1],"expires_in":7200,"strict_ttl":true}`), 422, "ttl_not_satisfiable", "")
		expect(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[1,1]}`), 400, "invalid_request", "")
		expect(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{"bucket":"media","key":"uploads/other.png","upload_id":"`+id+`","part_numbers":[1]}`), 400, "invalid_request", "")
		expect(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`x","part_numbers":[1]}`), 400, "invalid_request", "")

		s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 << 20}, {Number: 2, ETag: `"e2"`, Size: 5 << 20}, {Number: 3, ETag: `"e3"`, Size: 2<<20 + 1}}, nil)
		r = f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"\"e1\""},{"part_number":2,"etag":"e2"},{"part_number":3,"etag":"e3"}]}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if got.Size != 12582913 || got.ETag == "" {
			t.Errorf("complete: got %s", r.body)
		}

		// A store that did not hold parts to their signed Content-Length.
		s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 << 20}, {Number: 2, ETag: `"e2"`, Size: 5 << 20}, {Number: 3, ETag: `"e3"`, Size: 3 << 20}}, nil)
		r = f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"e1"},{"part_number":2,"etag":"e2"},{"part_number":3,"etag":"e3"}]}`)
		expect(t, r, 403, "forbidden", "content_length_too_large")
		if s3.aborted != 1 {
			t.Errorf("an oversized upload was aborted %d times, want 1", s3.aborted)
		}

		s3.set(nil, &signer.S3Error{Op: "ListParts", Code: "NoSuchUpload", Message: "gone", Status: 404})
		expect(t, f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"e1"}]}`), 404, "upload_not_found", "")
		expect(t, f.postTo(t, "/v1/multipart/abort", reportsToken, `{`+where+`,"upload_id":"`+id+`"}`), 404, "upload_not_found", "")
		// S3's faults (internal/api/s3faults_test.go makes them happen on the wire).
		for _, fault := range []struct {
			err        *signer.S3Error
			status     int
			code       string
			retryAfter bool
		}{
			{&signer.S3Error{Op: "X", Code: "InternalError", Message: "internal", Status: 500}, 502, "s3_error", false},
			{&signer.S3Error{Op: "X", Err: errors.New("dial tcp: connect: connection refused")}, 502, "s3_error", false},
			{&signer.S3Error{Op: "X", Code: "SlowDown", Message: "slow down", Status: 503}, 503, "s3_unavailable", true},
			{&signer.S3Error{Op: "X", Err: fmt.Errorf("operation error: %w", context.DeadlineExceeded)}, 504, "s3_timeout", false},
		} {
			s3.set(nil, fault.err)
			for path, body := range map[string]string{
				"/v1/multipart/create":   `{` + where + `,"content_type":"video/mp4","content_length":12582913}`,
				"/v1/multipart/complete": `{` + where + `,"upload_id":"` + id + `","parts":[{"part_number":1,"etag":"e1"}]}`,
				"/v1/multipart/abort":    `{` + where + `,"upload_id":"` + id + `"}`,
			} {
				r := f.postTo(t, path, reportsToken, body)
				expect(t, r, fault.status, fault.code, "")
				if got := r.header.Get("Retry-After"); (got != "") != fault.retryAfter {
					t.Errorf("%s, %v: Retry-After %q", path, fault.err, got)
				}
			}
		}

		// An upload over its size whose abort fails is said to be still there.
		s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 << 20}, {Number: 2, ETag: `"e2"`, Size: 5 << 20}, {Number: 3, ETag: `"e3"`, Size: 3 << 20}}, nil)
		s3.failAbort(&signer.S3Error{Op: "AbortMultipartUpload", Err: context.DeadlineExceeded})
		r = f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"e1"},{"part_number":2,"etag":"e2"},{"part_number":3,"etag":"e3"}]}`)
		expect(t, r, 504, "s3_timeout", "")
		if !strings.Contains(r.problem.Detail, "above the declared content_length") || !strings.Contains(r.problem.Detail, "aborting it failed") {
			t.Errorf("detail %q: want it to say the upload is too large and could not be aborted", r.problem.Detail)
		}
		s3.failAbort(&signer.S3Error{Op: "AbortMultipartUpload", Code: "NoSuchUpload", Status: 404})
		r = f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"e1"},{"part_number":2,"etag":"e2"},{"part_number":3,"etag":"e3"}]}`)
		expect(t, r, 403, "forbidden", "content_length_too_large")
		if !strings.Contains(r.problem.Detail, "the upload is gone") {
			t.Errorf("detail %q: want it to say the upload is gone", r.problem.Detail)
		}
		s3.failAbort(nil)
		s3.set(nil, nil)
		r = f.postTo(t, "/v1/multipart/abort", reportsToken, `{`+where+`,"upload_id":"`+id+`"}`)
		expect(t, r, 200, "", "")
		decodeInto(t, r)
		if !got.Aborted {
			t.Errorf("abort: got %s", r.body)
		}

		expect(t, f.postTo(t, "/v1/multipart/create", reportsToken, `{`+where+`,"content_type":"video/mp4"}`), 403, "forbidden", "content_length_required")
		expect(t, f.postTo(t, "/v1/multipart/create", reportsToken, `{`+where+`,"content_type":"video/mp4","content_length":1000}`), 400, "invalid_request", "")

		// The grant is revoked by a reload: the upload can no longer be continued.
		cfg := loadTestConfig(t)
		cfg.Clients[0].Grants[4].Prefixes = []string{"elsewhere/"}
		if err := f.srv.SetRuntime(runtimeOf(t, cfg, nil)); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := f.srv.SetRuntime(runtimeOf(t, loadTestConfig(t), nil)); err != nil {
				t.Fatal(err)
			}
		}()
		expect(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[1]}`), 403, "forbidden", "prefix_not_allowed")
		expect(t, f.postTo(t, "/v1/multipart/complete", reportsToken, `{`+where+`,"upload_id":"`+id+`","parts":[{"part_number":1,"etag":"e1"}]}`), 403, "forbidden", "prefix_not_allowed")
		expect(t, f.postTo(t, "/v1/multipart/abort", reportsToken, `{`+where+`,"upload_id":"`+id+`"}`), 403, "forbidden", "prefix_not_allowed")
	})

	// A well-formed body for each operation, given a valid upload ID.
	id := func() string {
		r := f.postTo(t, "/v1/multipart/create", reportsToken, `{"bucket":"media","key":"big/movie.mp4","content_type":"video/mp4","content_length":12582913}`)
		decodeInto(t, r)
		return got.UploadID
	}()
	valid := map[string]string{
		"/v1/presign":            `{"bucket":"media","key":"reports/a"}`,
		"/v1/presign/batch":      `{"requests":[{"bucket":"media","key":"reports/a"}]}`,
		"/v1/presign/post":       `{"bucket":"media","key":"uploads/a.png","content_type":"image/png","max_content_length":10}`,
		"/v1/explain":            `{"bucket":"media","key":"reports/a"}`,
		"/v1/multipart/create":   `{"bucket":"media","key":"big/movie.mp4","content_type":"video/mp4","content_length":12582913}`,
		"/v1/multipart/parts":    `{"bucket":"media","key":"big/movie.mp4","upload_id":"` + id + `","part_numbers":[1]}`,
		"/v1/multipart/complete": `{"bucket":"media","key":"big/movie.mp4","upload_id":"` + id + `","parts":[{"part_number":1,"etag":"e1"}]}`,
		"/v1/multipart/abort":    `{"bucket":"media","key":"big/movie.mp4","upload_id":"` + id + `"}`,
	}

	t.Run("every operation", func(t *testing.T) {
		broken := newFixture(t, fixtureOptions{seen: seen, wrap: func(p api.Presigner) api.Presigner { return panickingCredentials{&fakeS3{Presigner: p}} }})
		noCreds := newFixture(t, fixtureOptions{seen: seen, credentials: failingCredentials(), wrap: func(p api.Presigner) api.Presigner { return &fakeS3{Presigner: p} }})
		limited := newFixture(t, fixtureOptions{seen: seen})
		overloaded, _ := overloadedFixture(t, seen)
		if r := limited.post(t, limitedToken, `{"bucket":"media","key":"limited/a"}`); r.status != 200 {
			t.Fatalf("the limited client's first request: got %d", r.status)
		}
		for _, path := range sortedKeys(apiOperations) {
			t.Run(path, func(t *testing.T) {
				expect(t, f.postTo(t, path, "", valid[path]), 401, "unauthenticated", "missing")
				expect(t, f.postTo(t, path, reportsToken, `{}`), 400, "invalid_request", "")
				big := valid[path][:len(valid[path])-1] + strings.Repeat(" ", apiOperations[path]) + "}"
				expect(t, f.postTo(t, path, reportsToken, big), 413, "payload_too_large", "")
				r := limited.postTo(t, path, limitedToken, valid[path])
				expect(t, r, 429, "rate_limited", "")
				if len(r.audit) != 1 || r.audit[0].str("outcome") != "rate_limited" || r.audit[0].str("client") != "limited" {
					t.Errorf("audit of a rate-limited call: got %v", r.audit)
				}
				checkOverloaded(t, overloaded.postTo(t, path, reportsToken, valid[path]))
				r = broken.postTo(t, path, reportsToken, valid[path])
				expect(t, r, 500, "internal", "")
				if strings.Contains(string(r.body), "cause-4d2e") {
					t.Errorf("the problem holds the panic value: %s", r.body)
				}
				r = noCreds.postTo(t, path, reportsToken, valid[path])
				switch path {
				case "/v1/presign/batch", "/v1/explain":
					// Items, or the explanation, carry the problem.
					expect(t, r, 200, "", "")
					if !strings.Contains(string(r.body), "credentials_unavailable") && path == "/v1/presign/batch" {
						t.Errorf("batch item: got %s, want credentials_unavailable", r.body)
					}
				default:
					expect(t, r, 503, "credentials_unavailable", "")
				}
			})
		}
	})

	f.seen = seen
	for _, path := range sortedKeys(apiOperations) {
		if path != "/v1/presign" { // TestPresign covers its statuses.
			f.assertCovered(t, http.MethodPost, path)
		}
	}
}
