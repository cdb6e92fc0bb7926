package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// batchNow is the pinned clock of the batch tests: every URL of a test is signed at
// the same second, so equal requests get equal answers.
var batchNow = time.Date(2026, 11, 22, 19, 45, 0, 0, time.UTC)

// batchFixture is a real server (real signer, static credentials, pinned clock) on
// loopback, with its log and metrics at hand.
type batchFixture struct {
	url  string
	logs *syncbuf.Buffer
	reg  *prometheus.Registry
}

func newBatchFixture(t *testing.T) *batchFixture {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	now := func() time.Time { return batchNow }
	cfg := perfConfig(t)
	sg, err := s3signer.New(t.Context(), s3signer.Config{
		Default:     s3signer.Target{Region: cfg.S3.Region},
		Credentials: s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey),
		Now:         now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &batchFixture{logs: &syncbuf.Buffer{}, reg: prometheus.NewRegistry()}
	srv, err := api.New(api.Options{
		Runtime: runtimeOf(t, cfg, sg), Now: now, Registry: f.reg,
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
		Build:  api.BuildInfo{Version: "test", Revision: "test", GoVersion: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler(true))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// batchAnswer is one HTTP exchange.
type batchAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (f *batchFixture) post(t *testing.T, path, token, body string) batchAnswer {
	t.Helper()
	status, header, b := postRaw(t, f.url+path, token, body)
	return batchAnswer{status: status, header: header, body: b}
}

// batchAuditLines returns the audit lines (msg "presign") in a log.
func batchAuditLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, sc.Text())
		}
		if l["msg"] == "presign" {
			lines = append(lines, l)
		}
	}
	return lines
}

// counter returns the value of a counter series, 0 when it does not exist.
func (f *batchFixture) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// batchResults decodes a 200 batch batchAnswer into its raw results.
func batchResults(t *testing.T, a batchAnswer) []json.RawMessage {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status: got %d, want 200: %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var out struct {
		Results []json.RawMessage `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("the answer is not {\"results\": [...]}: %v: %s", err, a.body)
	}
	return out.Results
}

// batchItem is one result of a batch, decoded independently of the server's types.
type batchItem struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	Headers   map[string]string `json:"headers"`
	CappedBy  string            `json:"capped_by"`
	Error     *api.Problem      `json:"error"`
}

func TestBatch(t *testing.T) {
	f := newBatchFixture(t)
	items := []struct {
		name, body string
		// For an issued item: the URL's path, method, lifetime and capping.
		path, method string
		expiresIn    int64
		cappedBy     string
		headers      map[string]string
		// For a failed item: the problem.
		status       int
		code, reason string
		// What the audit line says.
		outcome string
	}{
		{name: "read", body: `{"bucket":"media","key":"reports/2026/q3 summary.csv"}`,
			path: "/reports/2026/q3%20summary.csv", method: "GET", expiresIn: 3600, headers: map[string]string{}, outcome: "issued"},
		{name: "upload capped by the grant", body: `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":2048,"expires_in":7200}`,
			path: "/uploads/a.png", method: "PUT", expiresIn: 3600, cappedBy: "policy",
			headers: map[string]string{"Content-Type": "image/png", "Content-Length": "2048"}, outcome: "issued"},
		{name: "invalid JSON item", body: `"reports/a"`, status: 400, code: "invalid_request", outcome: "invalid"},
		{name: "invalid key", body: `{"bucket":"media","key":"reports/../secrets"}`, status: 400, code: "invalid_key", outcome: "invalid"},
		{name: "denied prefix", body: `{"bucket":"media","key":"private/a"}`, status: 403, code: "forbidden", reason: "prefix_not_allowed", outcome: "denied"},
		{name: "unknown field", body: `{"bucket":"media","key":"reports/a","colour":"red"}`, status: 400, code: "invalid_request", outcome: "invalid"},
		{name: "key that is not UTF-8", body: `{"bucket":"media","key":"reports/\ud800"}`, status: 400, code: "invalid_key", outcome: "invalid"},
		{name: "denied bucket", body: `{"bucket":"archive","key":"reports/a"}`, status: 403, code: "forbidden", reason: "bucket_not_allowed", outcome: "denied"},
		{name: "strict TTL refused", body: `{"bucket":"media","key":"reports/a","expires_in":100000,"strict_ttl":true}`, status: 422, code: "ttl_not_satisfiable", outcome: "denied"},
		{name: "read capped by the grant", body: `{"bucket":"media","key":"shared/app/b","method":"HEAD","expires_in":100000}`,
			path: "/shared/app/b", method: "HEAD", expiresIn: 86400, cappedBy: "policy", headers: map[string]string{}, outcome: "issued"},
	}
	bodies := make([]string, len(items))
	for i, it := range items {
		bodies[i] = it.body
	}
	a := f.post(t, "/v1/presign/batch", perfToken, `{"requests":[`+strings.Join(bodies, ",")+`]}`)
	results := batchResults(t, a)
	if len(results) != len(items) {
		t.Fatalf("got %d results, want %d, in order: %s", len(results), len(items), a.body)
	}
	audit := batchAuditLines(t, f.logs.Take())
	if len(audit) != len(items) {
		t.Fatalf("got %d audit lines, want one per item (%d)", len(audit), len(items))
	}
	reqID := a.header.Get("X-Request-Id")
	issued, invalid, denied := 0.0, 0.0, 0.0
	for i, it := range items {
		t.Run(it.name, func(t *testing.T) {
			var r batchItem
			dec := json.NewDecoder(bytes.NewReader(results[i]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("result %d: %v: %s", i, err, results[i])
			}
			if it.status == 0 {
				if r.Error != nil {
					t.Fatalf("got error %+v, want an issued URL", *r.Error)
				}
				u, err := url.Parse(r.URL)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := u.Host, "media.s3.eu-west-1.amazonaws.com"; got != want {
					t.Errorf("host: got %q, want %q", got, want)
				}
				if u.EscapedPath() != it.path {
					t.Errorf("path: got %q, want %q", u.EscapedPath(), it.path)
				}
				q := u.Query()
				if q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != fmt.Sprint(it.expiresIn) {
					t.Errorf("URL query %v: want a signature and X-Amz-Expires=%d", q, it.expiresIn)
				}
				if r.Method != it.method || r.ExpiresIn != it.expiresIn || r.CappedBy != it.cappedBy {
					t.Errorf("got method %s, expires_in %d, capped_by %q; want %s, %d, %q",
						r.Method, r.ExpiresIn, r.CappedBy, it.method, it.expiresIn, it.cappedBy)
				}
				if want := batchNow.Add(time.Duration(it.expiresIn) * time.Second); !r.ExpiresAt.Equal(want) {
					t.Errorf("expires_at: got %s, want %s", r.ExpiresAt, want)
				}
				if fmt.Sprint(r.Headers) != fmt.Sprint(it.headers) {
					t.Errorf("headers: got %v, want %v", r.Headers, it.headers)
				}
			} else {
				if r.Error == nil || r.URL != "" {
					t.Fatalf("got %s, want only a problem", results[i])
				}
				p := *r.Error
				if p.Status != it.status || p.Code != it.code || p.Reason != it.reason || p.Type != "urn:presignd:problem:"+it.code || p.Title == "" || p.Detail == "" {
					t.Errorf("problem: got %+v, want status %d, code %s, reason %q", p, it.status, it.code, it.reason)
				}
			}
			l := audit[i]
			if l["operation"] != "presign_batch" || l["client"] != "app" || l["outcome"] != it.outcome || l["request_id"] != reqID {
				t.Errorf("audit line %v: want operation presign_batch, client app, outcome %s, request_id %s", l, it.outcome, reqID)
			}
			wantReason := it.reason
			if wantReason == "" && it.outcome != "issued" {
				wantReason = it.code
			}
			if l["reason"] != wantReason {
				t.Errorf("audit reason: got %v, want %q", l["reason"], wantReason)
			}
			if it.status == 0 || it.status == 403 || it.status == 422 {
				var want struct{ Bucket, Key string }
				_ = json.Unmarshal([]byte(it.body), &want)
				if l["bucket"] != want.Bucket || l["key"] != want.Key {
					t.Errorf("audit line: got bucket %v key %v, want %s %s", l["bucket"], l["key"], want.Bucket, want.Key)
				}
			}
			if strings.Contains(fmt.Sprint(l), "X-Amz-Signature") || strings.Contains(fmt.Sprint(l), testenv.AccessKeyID) {
				t.Errorf("the audit line holds a URL or a credential: %v", l)
			}
		})
		switch it.outcome {
		case "issued":
			issued++
		case "invalid":
			invalid++
		case "denied":
			denied++
		}
	}
	for outcome, want := range map[string]float64{"issued": issued, "invalid": invalid, "denied": denied} {
		got := f.counter(t, "presignd_presign_requests_total", map[string]string{"client": "app", "operation": "presign_batch", "outcome": outcome})
		if got != want {
			t.Errorf("presignd_presign_requests_total{outcome=%q}: got %v, want %v (one per item)", outcome, got, want)
		}
	}
	if got := f.counter(t, "presignd_http_requests_total", map[string]string{"route": "/v1/presign/batch", "code": "200"}); got != 1 {
		t.Errorf("presignd_http_requests_total of the batch route: got %v, want 1", got)
	}
}

func TestBatchLimits(t *testing.T) {
	f := newBatchFixture(t)
	items := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"requests":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"bucket":"media","key":"reports/item-%d"}`, i)
		}
		b.WriteString(`]}`)
		return b.String()
	}

	t.Run("1000 items, in order", func(t *testing.T) {
		results := batchResults(t, f.post(t, "/v1/presign/batch", perfToken, items(1000)))
		if len(results) != 1000 {
			t.Fatalf("got %d results, want 1000", len(results))
		}
		for i, raw := range results {
			var r batchItem
			if err := json.Unmarshal(raw, &r); err != nil || r.Error != nil {
				t.Fatalf("result %d: %v %s", i, err, raw)
			}
			u, err := url.Parse(r.URL)
			if err != nil || u.Path != fmt.Sprintf("/reports/item-%d", i) {
				t.Fatalf("result %d is for %q, want reports/item-%d", i, r.URL, i)
			}
		}
		if n := len(batchAuditLines(t, f.logs.Take())); n != 1000 {
			t.Errorf("got %d audit lines, want 1000", n)
		}
	})

	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"1001 items", items(1001), 400, "invalid_request"},
		{"no items", `{"requests":[]}`, 400, "invalid_request"},
		{"no requests field", `{}`, 400, "invalid_request"},
		{"requests is not a list", `{"requests":{"bucket":"media"}}`, 400, "invalid_request"},
		{"not JSON", `requests`, 400, "invalid_request"},
		{"unknown top-level field", `{"requests":[{"bucket":"media","key":"reports/a"}],"dry_run":true}`, 400, "invalid_request"},
		{"body over 1 MiB", `{"requests":[{"bucket":"media","key":"reports/a"}]` + strings.Repeat(" ", 1<<20) + `}`, 413, "payload_too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := f.post(t, "/v1/presign/batch", perfToken, c.body)
			var p api.Problem
			if err := json.Unmarshal(a.body, &p); err != nil {
				t.Fatalf("body is not a problem: %v: %s", err, a.body)
			}
			if a.status != c.status || p.Status != c.status || p.Code != c.code {
				t.Errorf("got %d %+v, want %d %s", a.status, p, c.status, c.code)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type: got %q, want application/problem+json", ct)
			}
			audit := batchAuditLines(t, f.logs.Take())
			if len(audit) != 1 || audit[0]["operation"] != "presign_batch" || audit[0]["outcome"] != "invalid" {
				t.Errorf("audit: got %v, want one invalid presign_batch line", audit)
			}
		})
	}

	t.Run("without a token", func(t *testing.T) {
		a := f.post(t, "/v1/presign/batch", "", items(1))
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("got %d %s, want 401 with WWW-Authenticate", a.status, a.body)
		}
		if audit := batchAuditLines(t, f.logs.Take()); len(audit) != 0 {
			t.Errorf("got audit lines %v for an unauthenticated batch, want none", audit)
		}
	})

	t.Run("a batch takes one token per item", func(t *testing.T) {
		// slow has a burst of 1: the request's own token pays for the first item; the
		// others find none and fail alone.
		body := `{"requests":[{"bucket":"media","key":"reports/a"},{"bucket":"media","key":"reports/b"},{"bucket":"media","key":"reports/c"}]}`
		results := batchResults(t, f.post(t, "/v1/presign/batch", perfLimitedToken, body))
		for i, raw := range results {
			var r batchItem
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			switch {
			case i == 0 && (r.Error != nil || r.URL == ""):
				t.Errorf("item 0: got %s, want a URL", raw)
			case i > 0 && (r.Error == nil || r.Error.Code != "rate_limited" || r.Error.Status != 429):
				t.Errorf("item %d: got %s, want a rate_limited problem", i, raw)
			}
		}
		a := f.post(t, "/v1/presign/batch", perfLimitedToken, body)
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
			t.Errorf("second batch: got %d %s, want 429 with Retry-After", a.status, a.body)
		}
		audit := batchAuditLines(t, f.logs.Take())
		var outcomes []any
		for _, l := range audit {
			outcomes = append(outcomes, l["outcome"])
		}
		if want := []any{"issued", "rate_limited", "rate_limited", "rate_limited"}; !slices.Equal(outcomes, want) {
			t.Errorf("audit outcomes: got %v, want %v", outcomes, want)
		}
	})
}

// singleAndBatchBodies are requests of every shape: the common shape (exact names,
// plain ASCII strings, plain integers) and others (escapes, non-ASCII text, nulls,
// exponents, metadata, duplicates, names in another case), issued, invalid and denied.
var singleAndBatchBodies = []string{
	`{"bucket":"media","key":"reports/2026/q3 summary (final)+1=2&x;y,z.pdf","expires_in":100000}`,
	`{"bucket":"media","key":"uploads/a.png","method":"put","content_type":"image/png","content_length":1048576,"checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}`,
	"{ \"bucket\" : \"media\" ,\n\t\"key\" : \"reports/a\" , \"method\" : \"HEAD\" , \"response_content_type\" : \"text/csv\" , \"response_cache_control\":\"no-cache\", \"strict_ttl\": false }",
	`{"bucket":"media","key":"reports/a","download_filename":"q3 report.pdf","version_id":"3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}`,
	`{"bucket":"media","key":"reports/a","response_content_disposition":"attachment; filename=\"a.csv\""}`,
	`{"bucket":"media","key":"reports/é.txt","download_filename":"résumé.pdf"}`,
	`{"bucket":"media","key":"uploads/b.png","method":"PUT","content_type":"image/png","content_length":10,"metadata":{"Owner":"ops","x_y":"1"}}`,
	`{"bucket":"media","key":"reports/a","expires_in":1e3}`,
	`{"bucket":"media","key":"reports/a","expires_in":null,"method":null}`,
	`{"bucket":"media","key":"reports/a","expires_in":0}`,
	`{"bucket":"media","key":"reports/a","expires_in":-5}`,
	`{"bucket":"media","key":"reports/a","expires_in":123456789012345678901}`,
	`{"bucket":"media","key":"reports/a","expires_in":"60"}`,
	`{"bucket":"media","key":"reports/a","strict_ttl":"yes"}`,
	`{"bucket":"media","key":"reports/a","strict_ttl":true,"expires_in":90000}`,
	`{"bucket":"media","key":"reports/a","key":"private/a"}`,
	`{"bucket":"media","Key":"reports/a"}`,
	`{"bucket":"media","key":"private/a"}`,
	`{"bucket":"media","key":"uploads/a.gif","method":"PUT","content_type":"image/gif"}`,
	`{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":2000000}`,
	`{"bucket":"media","key":"reports/a","method":"PUT"}`,
	`{"bucket":"media","key":"reports/a","method":"POST"}`,
	`{"bucket":"Media","key":"reports/a"}`,
	`{"bucket":"media","key":"/reports/a"}`,
	`{"bucket":"media","key":"reports//a"}`,
	`{"bucket":"media","key":"reports/a","content_type":"text/csv"}`,
	`{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","checksum_sha256":"not base64"}`,
	`{"bucket":"media"}`,
	`{"key":"reports/a"}`,
	`{}`,
	`[]`,
	`42`,
}

// TestBatchItemsAnswerAsSingleRequests holds batch items and single requests to the
// same answers, and the common shape of request, which has its own parser, to the
// answers of the same request in another spelling, which encoding/json decodes: for
// every body, the batch result is exactly the single batchAnswer (or {"error": problem}),
// and spelling the name "bucket" with an escape changes nothing.
func TestBatchItemsAnswerAsSingleRequests(t *testing.T) {
	f := newBatchFixture(t)
	var bodies []string
	for _, b := range singleAndBatchBodies {
		bodies = append(bodies, b)
		if esc := strings.Replace(b, `"bucket"`, `"\u0062ucket"`, 1); esc != b {
			bodies = append(bodies, esc)
		}
	}
	results := batchResults(t, f.post(t, "/v1/presign/batch", perfToken, `{"requests":[`+strings.Join(bodies, ",")+`]}`))
	if len(results) != len(bodies) {
		t.Fatalf("got %d results, want %d", len(results), len(bodies))
	}
	var previous batchAnswer
	for i, body := range bodies {
		single := f.post(t, "/v1/presign", perfToken, body)
		want := bytes.TrimSuffix(single.body, []byte("\n"))
		if single.status != http.StatusOK {
			want = []byte(`{"error":` + string(want) + `}`)
		}
		if !bytes.Equal(results[i], want) {
			t.Errorf("body %s:\nbatch result  %s\nsingle batchAnswer %s", body, results[i], want)
		}
		if strings.Contains(body, `"\u0062ucket"`) && (single.status != previous.status || !bytes.Equal(single.body, previous.body)) {
			t.Errorf("body %s:\ngot  %d %s\nwant %d %s (as without the escape)", body, single.status, single.body, previous.status, previous.body)
		}
		previous = single
	}
}

// TestPresignAnswerIsEncodingJSON holds the answers of POST /v1/presign, which the
// server writes itself, to exactly what encoding/json writes for them.
func TestPresignAnswerIsEncodingJSON(t *testing.T) {
	f := newBatchFixture(t)
	issued := 0
	for _, body := range singleAndBatchBodies {
		a := f.post(t, "/v1/presign", perfToken, body)
		if a.status != http.StatusOK {
			continue
		}
		issued++
		// The fields of the response, in the order the API documents them.
		var r struct {
			URL       string            `json:"url"`
			Method    string            `json:"method"`
			ExpiresAt time.Time         `json:"expires_at"`
			ExpiresIn int64             `json:"expires_in"`
			Headers   map[string]string `json:"headers"`
			CappedBy  string            `json:"capped_by,omitempty"`
		}
		dec := json.NewDecoder(bytes.NewReader(a.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("body %s: batchAnswer %s: %v", body, a.body, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.body, want.Bytes()) {
			t.Errorf("body %s:\ngot  %s\nwant %s", body, a.body, want.Bytes())
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if got := a.header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("header %s: got %q, want %q", k, got, v)
			}
		}
	}
	if issued < 5 {
		t.Errorf("only %d of the bodies were issued; the test needs URLs of several shapes", issued)
	}
}

// FuzzPresignSpellings sends arbitrary bodies through the real handler in two
// spellings, as they come and with the name "bucket" written with an escape (which
// takes them off the parser of the common shape), and as a batch item: all three
// answers must agree. Only the byte offsets of syntax errors may differ.
func FuzzPresignSpellings(f *testing.F) {
	for _, b := range singleAndBatchBodies {
		f.Add(b)
	}
	srv := newPerfServer(f, io.Discard, func() time.Time { return batchNow }).Handler(false)
	post := func(t *testing.T, path, body string) (int, []byte) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+perfToken)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w.Code, w.Body.Bytes()
	}
	f.Fuzz(func(t *testing.T, body string) {
		status, answer := post(t, "/v1/presign", body)
		if status >= 500 {
			t.Fatalf("body %q: got %d %s", body, status, answer)
		}
		if esc := strings.Replace(body, `"bucket"`, `"\u0062ucket"`, 1); esc != body {
			escStatus, escAnswer := post(t, "/v1/presign", esc)
			same := escStatus == status && bytes.Equal(escAnswer, answer)
			if !same && escStatus == status && bytes.Contains(answer, []byte("at byte")) {
				var p, q api.Problem
				same = json.Unmarshal(answer, &p) == nil && json.Unmarshal(escAnswer, &q) == nil && p.Code == q.Code
			}
			if !same {
				t.Fatalf("body %q:\ngot  %d %s\nwant %d %s (as without the escape)", esc, escStatus, escAnswer, status, answer)
			}
		}
		if !json.Valid([]byte(body)) {
			return
		}
		bs, batch := post(t, "/v1/presign/batch", `{"requests":[`+body+`]}`)
		if bs == http.StatusRequestEntityTooLarge || bs == http.StatusBadRequest && status == http.StatusRequestEntityTooLarge {
			return
		}
		var out struct{ Results []json.RawMessage }
		if err := json.Unmarshal(batch, &out); err != nil || bs != http.StatusOK || len(out.Results) != 1 {
			t.Fatalf("batch of %q: got %d %s", body, bs, batch)
		}
		if status == http.StatusOK {
			if want := bytes.TrimSuffix(answer, []byte("\n")); !bytes.Equal(out.Results[0], want) {
				t.Fatalf("body %q:\nbatch result  %s\nsingle answer %s", body, out.Results[0], want)
			}
			return
		}
		// Single problems escape <, > and & as \u003c..., batch results do not: compare
		// what they say.
		var item struct{ Error api.Problem }
		var p api.Problem
		if json.Unmarshal(out.Results[0], &item) != nil || json.Unmarshal(answer, &p) != nil || item.Error != p {
			t.Fatalf("body %q:\nbatch result  %s\nsingle answer %s", body, out.Results[0], answer)
		}
	})
}
