package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/auditlog"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

// Tokens of the clients of perfConfig.
const (
	perfToken        = "perf-token-app-8Jd2kQ7xL0pV5nR3tY9wZ"
	perfLimitedToken = "perf-token-slow-1Bv6mN4cX8zA2sD7fG0hJ"
)

// perfConfig is the config of the batch tests and the benchmarks: client "app" may
// read under reports/ and shared/app/, upload PNGs under uploads/ and up to 1 GiB
// under big/; client "slow"
// has a rate limit that allows one request.
func perfConfig(tb testing.TB) *config.Config {
	tb.Helper()
	cfg, err := config.Parse([]byte(`listen: 127.0.0.1:0
s3: {region: eu-west-1}
clients:
  - name: app
    token_sha256: "` + config.HashToken(perfToken) + `"
    grants:
      - {bucket: media, prefixes: ["reports/", "shared/{client}/"], methods: [GET, HEAD], max_ttl: 24h}
      - {bucket: media, prefixes: ["uploads/"], methods: [PUT], max_ttl: 1h, content_types: ["image/png"], max_content_length: 1048576}
      - {bucket: media, prefixes: ["big/"], methods: [PUT], max_ttl: 1h, max_content_length: 1073741824}
  - name: slow
    token_sha256: "` + config.HashToken(perfLimitedToken) + `"
    rate_limit: {rps: 0.001, burst: 1}
    grants:
      - {bucket: media, prefixes: ["reports/"], methods: [GET], max_ttl: 1h}
`))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// newPerfServer is a real api.Server with the real signer and static credentials (the
// AWS documentation example key pair), logging JSON lines to logs as serve does. A nil now is the
// wall clock.
func newPerfServer(tb testing.TB, logs io.Writer, now func() time.Time) *api.Server {
	tb.Helper()
	// Static credentials never reach the instance metadata service; make sure nothing
	// else in the SDK's configuration loading does either.
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if now == nil {
		now = time.Now
	}
	cfg := perfConfig(tb)
	sg, err := s3signer.New(tb.Context(), s3signer.Config{
		Default:     s3signer.Target{Region: cfg.S3.Region},
		Credentials: s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey),
		Now:         now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := api.New(api.Options{
		Runtime:   runtimeOf(tb, cfg, sg),
		Logger:    slog.New(auditlog.NewHandler(auditlog.NewWriter(logs, 0), nil)), // as serve logs
		Now:       now,
		UploadKey: testUploadKey,
		Build:     api.BuildInfo{Version: "bench", Revision: "bench", GoVersion: "bench"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// fixedJSONHandler is the floor presignd is measured against: a chi router whose
// handler answers every POST /v1/presign with the same JSON body.
func fixedJSONHandler() http.Handler {
	body := []byte(`{"url":"https://media.s3.eu-west-1.amazonaws.com/reports/2026/q3.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256","method":"GET","expires_at":"2026-11-22T20:45:00Z","expires_in":3600,"headers":{}}` + "\n")
	r := chi.NewRouter()
	r.Post("/v1/presign", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return r
}

const perfPresignBody = `{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}`

// servePOST sends b.N requests, from GOMAXPROCS goroutines, to h in process and
// fails on any answer but 200.
func servePOST(b *testing.B, h http.Handler, path, body, token string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status: got %d, want 200: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// BenchmarkPresign measures one POST /v1/presign through the whole handler (request
// ID, metrics, authentication, decoding, policy, signing, audit log, encoding) and,
// for comparison, the fixed-JSON handler. Profile with
//
//	go test ./internal/api -run '^$' -bench '^BenchmarkPresign$/presignd' -cpuprofile cpu.out
func BenchmarkPresign(b *testing.B) {
	b.Run("presignd", func(b *testing.B) {
		servePOST(b, newPerfServer(b, io.Discard, nil).Handler(true), "/v1/presign", perfPresignBody, perfToken)
	})
	b.Run("fixed_json", func(b *testing.B) {
		servePOST(b, fixedJSONHandler(), "/v1/presign", perfPresignBody, perfToken)
	})
}

// BenchmarkPresignVsFixedJSON measures both handlers in the same run, b.N requests
// each, and reports their times per request and presignd's throughput as a fraction of
// the fixed-JSON handler's (fixed time / presignd time). Its ns/op covers both.
func BenchmarkPresignVsFixedJSON(b *testing.B) {
	presignd := newPerfServer(b, io.Discard, nil).Handler(true)
	fixed := fixedJSONHandler()
	start := time.Now()
	servePOST(b, presignd, "/v1/presign", perfPresignBody, perfToken)
	p := time.Since(start)
	start = time.Now()
	servePOST(b, fixed, "/v1/presign", perfPresignBody, perfToken)
	f := time.Since(start)
	b.ReportMetric(float64(p.Nanoseconds())/float64(b.N), "presignd-ns/req")
	b.ReportMetric(float64(f.Nanoseconds())/float64(b.N), "fixed-ns/req")
	b.ReportMetric(f.Seconds()/p.Seconds(), "throughput-ratio")
}

// batchBody is a batch of n valid requests: reads under reports/ and PNG uploads.
func batchBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"requests":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%4 == 3 {
			b.WriteString(`{"bucket":"media","key":"uploads/img-` + strconv.Itoa(i) + `.png","method":"PUT","content_type":"image/png","content_length":2048}`)
			continue
		}
		b.WriteString(`{"bucket":"media","key":"reports/2026/day ` + strconv.Itoa(i) + `.csv","expires_in":600}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// BenchmarkBatch100 measures POST /v1/presign/batch with 100 items; ns/item is the
// cost of one URL within a batch.
func BenchmarkBatch100(b *testing.B) {
	h := newPerfServer(b, io.Discard, nil).Handler(true)
	body := batchBody(100)
	// Check once that every item is issued, outside the timed loop.
	req := httptest.NewRequest(http.MethodPost, "/v1/presign/batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+perfToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out struct {
		Results []struct {
			URL   string          `json:"url"`
			Error json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Results) != 100 {
		b.Fatalf("batch: status %d, %d results, %v", w.Code, len(out.Results), err)
	}
	for i, r := range out.Results {
		if r.URL == "" || r.Error != nil {
			b.Fatalf("item %d was not issued: %s", i, r.Error)
		}
	}
	b.ResetTimer()
	servePOST(b, h, "/v1/presign/batch", body, perfToken)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/item")
	b.SetBytes(int64(len(body)))
}

const perfPostBody = `{"bucket":"media","key":"uploads/2026/avatar.png","content_type":"image/png","max_content_length":1048576,"expires_in":600}`

// BenchmarkPresignPost measures one POST /v1/presign/post (a browser form policy)
// through the whole handler. Profile with
//
//	go test ./internal/api -run '^$' -bench '^BenchmarkPresignPost$' -cpuprofile cpu.out
func BenchmarkPresignPost(b *testing.B) {
	servePOST(b, newPerfServer(b, io.Discard, nil).Handler(true), "/v1/presign/post", perfPostBody, perfToken)
}

// BenchmarkMultipartParts measures one POST /v1/multipart/parts (one part URL of a
// sealed upload of declared size) through the whole handler. Profile with
//
//	go test ./internal/api -run '^$' -bench '^BenchmarkMultipartParts$' -cpuprofile cpu.out
func BenchmarkMultipartParts(b *testing.B) {
	id := seal(b, "v2", map[string]any{"u": "upload-1", "c": "app", "b": "media", "k": "big/upload.bin", "n": 10 << 20, "p": 5 << 20})
	body := `{"bucket":"media","key":"big/upload.bin","upload_id":"` + id + `","part_numbers":[1]}`
	servePOST(b, newPerfServer(b, io.Discard, nil).Handler(true), "/v1/multipart/parts", body, perfToken)
}
