package main

// End-to-end tests of S3's faults on the calls presignd makes itself (multipart
// create, list parts, complete, abort): presignd, run through run(), calls a real
// versitygw through a fault proxy.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv/faultproxy"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// e2eFaults are S3's faults and the problem each becomes. reachesS3 says whether the
// call still reaches S3 (the answer is what fails), so that S3 may have done it.
var e2eFaults = []struct {
	mode       faultproxy.Mode
	status     int
	code       string
	retryAfter bool
	reachesS3  bool
}{
	{faultproxy.Refuse, 502, "s3_error", false, false},
	{faultproxy.Reset, 502, "s3_error", false, true},
	{faultproxy.InternalError, 502, "s3_error", false, false},
	{faultproxy.SlowDown, 503, "s3_unavailable", true, false},
	{faultproxy.Hang, 504, "s3_timeout", false, false},
	{faultproxy.Slow, 504, "s3_timeout", false, true},
}

// faultEnv is presignd with S3 behind a fault proxy.
type faultEnv struct {
	*uploadEnv
	proxy *faultproxy.Proxy
}

func newFaultEnv(t *testing.T, callTimeout time.Duration) *faultEnv {
	t.Helper()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketUploads)
	proxy := faultproxy.Start(t, strings.TrimPrefix(s.Endpoint, "http://"))
	proxy.Delay = 3 * callTimeout
	p := startPresignd(t, testConfig(uploadClients, configOptions{S3: s, S3Endpoint: proxy.URL, S3CallTimeout: callTimeout.String()}))
	return &faultEnv{uploadEnv: &uploadEnv{s3: s, p: p}, proxy: proxy}
}

// wantS3Problem sends req to path as bob while the proxy puts mode on the calls that
// match, and checks the problem and that it came within the S3 budget.
func (e *faultEnv) wantS3Problem(t *testing.T, path string, req any, mode faultproxy.Mode, match faultproxy.Match,
	status int, code string, retryAfter bool, budget time.Duration) problem {
	t.Helper()
	e.proxy.Set(mode, match)
	defer e.proxy.Set(faultproxy.Pass, nil)
	faulted := e.proxy.Faulted()
	start := time.Now()
	got, h, body := e.p.post(t, bobToken, path, req)
	took := time.Since(start)
	var pr problem
	if err := json.Unmarshal(body, &pr); err != nil || got != status || pr.Code != code || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST %s with S3 %s: got %d %s, want a %d %s problem", path, mode, got, body, status, code)
	}
	if e.proxy.Faulted() == faulted {
		t.Errorf("POST %s: no call to S3 met the fault %s", path, mode)
	}
	if took > budget+time.Second {
		t.Errorf("POST %s with S3 %s: the answer took %s, want it within the S3 budget of %s (and a second)", path, mode, took, budget)
	}
	if ra := h.Get("Retry-After"); (ra != "") != retryAfter {
		t.Errorf("POST %s with S3 %s: Retry-After %q, want one: %v", path, mode, ra, retryAfter)
	}
	return pr
}

func TestS3FaultsEndToEnd(t *testing.T) {
	t.Parallel()
	const budget = time.Second
	e := newFaultEnv(t, budget)
	createsUpload := faultproxy.MethodQuery(http.MethodPost, "?uploads")
	listsParts := faultproxy.MethodQuery(http.MethodGet, "uploadId=")
	completes := faultproxy.MethodQuery(http.MethodPost, "uploadId=")
	aborts := faultproxy.MethodQuery(http.MethodDelete, "uploadId=")

	for _, f := range e2eFaults {
		name := strings.ReplaceAll(f.mode.String(), " ", "-")
		t.Run(name, func(t *testing.T) {
			// Create: a create whose answer is lost may have started an upload in S3,
			// which no one knows the ID of; presignd does not retry it, so that there
			// is at most one.
			created := "big/faults/" + name + "-create.bin"
			e.wantS3Problem(t, "/v1/multipart/create", map[string]any{
				"bucket": bucketUploads, "key": created, "content_type": "application/octet-stream", "content_length": 5 * mib,
			}, f.mode, createsUpload, f.status, f.code, f.retryAfter, budget)
			if left, most := len(e.uploadsOf(t, created)), map[bool]int{false: 0, true: 1}[f.reachesS3]; left > most {
				t.Errorf("after a failed create S3 holds %d uploads of %s, want at most %d", left, created, most)
			}

			key := "big/faults/" + name + ".bin"

			// Complete: each of its calls fails in turn, then S3 is well again and a
			// retry finishes the upload, unless the failed complete reached S3 and
			// completed it already.
			data := randomBytes(t, 5*mib)
			u := e.createUpload(t, key, len(data))
			done := u.putParts(t, data)
			e.wantS3Problem(t, "/v1/multipart/complete", u.completeReq(done), f.mode, listsParts, f.status, f.code, f.retryAfter, budget)
			if left := e.uploadsOf(t, key); len(left) != 1 {
				t.Errorf("after a failed list parts S3 holds %d uploads of %s, want it still there", len(left), key)
			}
			e.wantS3Problem(t, "/v1/multipart/complete", u.completeReq(done), f.mode, completes, f.status, f.code, f.retryAfter, budget)
			status, _, body := e.p.post(t, bobToken, "/v1/multipart/complete", u.completeReq(done))
			if status != http.StatusOK && !(f.reachesS3 && status == http.StatusNotFound && strings.Contains(string(body), "upload_not_found")) {
				t.Errorf("complete once S3 is well: got %d %s, want 200", status, body)
			}
			e.wantObject(t, bobToken, key, data, "application/octet-stream")

			// Abort: the failure is reported, and a retry drops the upload.
			key = "big/faults/" + name + "-abort.bin"
			u = e.createUpload(t, key, 5*mib)
			e.wantS3Problem(t, "/v1/multipart/abort", u.ids(), f.mode, aborts, f.status, f.code, f.retryAfter, budget)
			if left := e.uploadsOf(t, key); !f.reachesS3 && len(left) != 1 {
				t.Errorf("after a failed abort S3 holds %d uploads of %s, want it still there", len(left), key)
			}
			status, _, body = e.p.post(t, bobToken, "/v1/multipart/abort", u.ids())
			if status != http.StatusOK && !(f.reachesS3 && status == http.StatusNotFound) {
				t.Errorf("abort once S3 is well: got %d %s, want 200", status, body)
			}
			if left := e.uploadsOf(t, key); len(left) != 0 {
				t.Errorf("after the abort S3 holds %d uploads of %s, want none", len(left), key)
			}
		})
	}

	// Connections to hung and slow calls were closed when presignd gave up on them.
	deadline := time.Now().Add(5 * time.Second)
	for e.proxy.Open() > 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if open := e.proxy.Open(); open > 2 {
		t.Errorf("%d connections to S3 are open after the faults (%d accepted), want at most 2 kept alive", open, e.proxy.Accepted())
	}
}

// With the longest s3.call_timeout, a call to an S3 that never answers still gets its
// 504 problem before the server's write timeout would close the connection (before
// the S3 call timeout was bounded below it, the caller got no answer at all).
func TestS3HangAnswersBeforeTheWriteTimeout(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, config.MaxS3CallTimeout)
	start := time.Now()
	pr := e.wantS3Problem(t, "/v1/multipart/create", map[string]any{
		"bucket": bucketUploads, "key": "big/hang.bin", "content_type": "application/octet-stream", "content_length": 5 * mib,
	}, faultproxy.Hang, nil, http.StatusGatewayTimeout, "s3_timeout", false, config.MaxS3CallTimeout)
	if took := time.Since(start); took < config.MaxS3CallTimeout || took >= config.WriteTimeout {
		t.Errorf("the 504 came after %s, want between the call timeout %s and the write timeout %s", took, config.MaxS3CallTimeout, config.WriteTimeout)
	}
	if !strings.Contains(pr.Detail, "in time") {
		t.Errorf("detail %q does not say S3 did not answer in time", pr.Detail)
	}
}
