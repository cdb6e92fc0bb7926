package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/faultproxy"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// faultS3Timeout is the S3 budget of a request in these tests.
const faultS3Timeout = 500 * time.Millisecond

// fakeS3Server answers the multipart calls presignd makes, as S3 does. An upload of
// a key ending in "over.mp4" lists a last part larger than it was declared, as a store
// that did not hold parts to their signed size would. It counts aborts.
type fakeS3Server struct {
	aborts atomic.Int32
}

func (s *fakeS3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	key := strings.TrimPrefix(r.URL.Path, "/media/")
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/xml")
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>media</Bucket><Key>%s</Key><UploadId>upload-of-%s</UploadId></InitiateMultipartUploadResult>`, key, key)
	case r.Method == http.MethodGet && q.Has("uploadId"):
		last := 2<<20 + 1
		if strings.HasSuffix(key, "over.mp4") {
			last = 3 << 20
		}
		fmt.Fprintf(w, `<ListPartsResult><Bucket>media</Bucket><Key>%s</Key><UploadId>%s</UploadId><IsTruncated>false</IsTruncated>`+
			`<Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><Size>5242880</Size></Part>`+
			`<Part><PartNumber>2</PartNumber><ETag>"e2"</ETag><Size>5242880</Size></Part>`+
			`<Part><PartNumber>3</PartNumber><ETag>"e3"</ETag><Size>%d</Size></Part></ListPartsResult>`, key, q.Get("uploadId"), last)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		fmt.Fprintf(w, `<CompleteMultipartUploadResult><Bucket>media</Bucket><Key>%s</Key><ETag>"whole-3"</ETag></CompleteMultipartUploadResult>`, key)
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		s.aborts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not a call presignd makes", http.StatusBadRequest)
	}
}

// faultFixture is a test server whose real signer calls a fake S3 through a fault
// proxy, with an S3 budget of faultS3Timeout a request.
func faultFixture(t *testing.T) (*fixture, *faultproxy.Proxy, *fakeS3Server) {
	t.Helper()
	s3 := &fakeS3Server{}
	upstream := httptest.NewServer(s3)
	t.Cleanup(upstream.Close)
	proxy := faultproxy.Start(t, strings.TrimPrefix(upstream.URL, "http://"))
	proxy.Delay = 4 * faultS3Timeout

	cfg := loadTestConfig(t)
	cfg.S3.Endpoint = proxy.URL
	cfg.S3.CallTimeout = &config.Duration{D: faultS3Timeout}
	logs := &syncbuf.Buffer{}
	srv, err := api.New(api.Options{
		Runtime:   runtimeOf(t, cfg, newSigner(t, cfg, s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey))),
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		Now:       func() time.Time { return testNow },
		Build:     api.BuildInfo{Version: "test", Revision: "test", GoVersion: "test"},
		UploadKey: testUploadKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler(true))
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, url: ts.URL, logs: logs, spec: specFor(t), seen: map[string]bool{}}, proxy, s3
}

// s3Faults are the faults of S3 and the problem each becomes.
var s3Faults = []struct {
	mode       faultproxy.Mode
	status     int
	code       string
	retryAfter bool
}{
	{faultproxy.Refuse, 502, "s3_error", false},
	{faultproxy.Reset, 502, "s3_error", false},
	{faultproxy.InternalError, 502, "s3_error", false},
	{faultproxy.SlowDown, 503, "s3_unavailable", true},
	{faultproxy.Hang, 504, "s3_timeout", false},
	{faultproxy.Slow, 504, "s3_timeout", false},
}

// TestS3Faults drives each of presignd's S3 calls into each fault, through the real
// signer and a TCP proxy: each gives its problem within the request's S3 budget, an
// upload over its limits is aborted or said not to be, and no goroutine or
// connection is left behind.
func TestS3Faults(t *testing.T) {
	f, proxy, s3 := faultFixture(t)
	create := func(key string) string {
		r := f.postTo(t, "/v1/multipart/create", reportsToken, `{"bucket":"media","key":"`+key+`","content_type":"video/mp4","content_length":12582913}`)
		return decodeOK[createResult](t, r).UploadID
	}
	const parts = `"parts":[{"part_number":1,"etag":"e1"},{"part_number":2,"etag":"e2"},{"part_number":3,"etag":"e3"}]`
	id, overID := create("big/movie.mp4"), create("big/over.mp4")
	complete := `{"bucket":"media","key":"big/movie.mp4","upload_id":"` + id + `",` + parts + `}`
	completeOver := `{"bucket":"media","key":"big/over.mp4","upload_id":"` + overID + `",` + parts + `}`

	// The goroutines of a server at rest with a kept-alive connection to S3.
	decodeOK[answer](t, f.postTo(t, "/v1/multipart/complete", reportsToken, complete))
	before := settledGoroutines(0)

	calls := []struct {
		name, path, body string
		match            faultproxy.Match
	}{
		{"create", "/v1/multipart/create", `{"bucket":"media","key":"big/movie.mp4","content_type":"video/mp4","content_length":12582913}`,
			faultproxy.MethodQuery(http.MethodPost, "?uploads")},
		{"complete, at list parts", "/v1/multipart/complete", complete, faultproxy.MethodQuery(http.MethodGet, "uploadId=")},
		{"complete, at complete", "/v1/multipart/complete", complete, faultproxy.MethodQuery(http.MethodPost, "uploadId=")},
		{"abort", "/v1/multipart/abort", `{"bucket":"media","key":"big/movie.mp4","upload_id":"` + id + `"}`,
			faultproxy.MethodQuery(http.MethodDelete, "uploadId=")},
		{"complete over the declared size, at abort", "/v1/multipart/complete", completeOver,
			faultproxy.MethodQuery(http.MethodDelete, "uploadId=")},
	}
	for _, c := range calls {
		for _, fault := range s3Faults {
			t.Run(c.name+"/"+fault.mode.String(), func(t *testing.T) {
				proxy.Set(fault.mode, c.match)
				faulted := proxy.Faulted()
				start := time.Now()
				r := f.postTo(t, c.path, reportsToken, c.body)
				took := time.Since(start)
				wantProblem(t, r, fault.status, fault.code, "")
				if proxy.Faulted() == faulted {
					t.Errorf("no call met the fault")
				}
				if took > faultS3Timeout+time.Second {
					t.Errorf("the answer took %s, want it within the S3 budget of %s (and a second)", took, faultS3Timeout)
				}
				if got := r.header.Get("Retry-After"); (got != "") != fault.retryAfter {
					t.Errorf("Retry-After: got %q, want one: %v", got, fault.retryAfter)
				}
				if len(r.audit) != 1 || r.audit[0].str("outcome") != "error" {
					t.Errorf("audit: got %v, want one line with outcome error", r.audit)
				}
				if c.body == completeOver && (!strings.Contains(r.problem.Detail, "aborting it failed") || !strings.Contains(r.problem.Detail, "still held")) {
					t.Errorf("detail %q does not say that the oversized upload could not be aborted", r.problem.Detail)
				}
			})
		}
	}

	t.Run("S3 well again", func(t *testing.T) {
		proxy.Set(faultproxy.Pass, nil)
		aborts := s3.aborts.Load()
		wantProblem(t, f.postTo(t, "/v1/multipart/complete", reportsToken, completeOver), 403, "forbidden", "the upload was aborted")
		if s3.aborts.Load() != aborts+1 {
			t.Errorf("the oversized upload was not aborted")
		}
		decodeOK[answer](t, f.postTo(t, "/v1/multipart/complete", reportsToken, complete))
	})

	// Hung and slow calls were given up on: nothing waits for them.
	after := settledGoroutines(before + 8)
	t.Logf("goroutines: %d before the faults, %d after; connections to S3 open: %d of %d accepted", before, after, proxy.Open(), proxy.Accepted())
	if after > before+8 {
		t.Errorf("goroutines: %d before the faults, %d after; want no more than a few for kept-alive connections", before, after)
	}
	if open := proxy.Open(); open > 2 {
		t.Errorf("%d connections to S3 are open after the faults, want at most 2 kept alive", open)
	}
}

// settledGoroutines waits up to 5s for the number of goroutines to fall to want or
// below, or to stop changing, and returns it.
func settledGoroutines(want int) int {
	n, last := runtime.NumGoroutine(), -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if n <= want || (want == 0 && n == last) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
		last, n = n, runtime.NumGoroutine()
	}
	return n
}
