package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/client"
)

// answer is one scripted answer; hangUp closes the connection without answering.
type answer struct {
	status     int
	retryAfter string
	hangUp     bool
}

const (
	okBody      = `{"url":"https://b.s3/k","method":"GET","expires_at":"2026-11-22T21:00:00Z","expires_in":3600,"headers":{}}`
	rateLimited = `{"type":"urn:presignd:problem:rate_limited","title":"Rate limited","status":429,"detail":"over the rate limit","code":"rate_limited"}`
	overloaded  = `{"type":"urn:presignd:problem:overloaded","title":"Overloaded","status":503,"detail":"presignd is shedding load","code":"overloaded"}`
	invalidKey  = `{"type":"urn:presignd:problem:invalid_key","title":"Invalid key","status":400,"detail":"bad key","code":"invalid_key"}`
	internal    = `{"type":"urn:presignd:problem:internal","title":"Internal error","status":500,"detail":"internal error","code":"internal"}`
)

// scripted answers requests with the answers in turn (the last one again when they run out)
// and returns the bodies it got.
func scripted(t *testing.T, answers ...answer) (*httptest.Server, func() [][]byte) {
	t.Helper()
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		a := answers[min(len(bodies), len(answers))-1]
		mu.Unlock()
		if a.hangUp {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		body := map[int]string{200: okBody, 429: rateLimited, 503: overloaded, 400: invalidKey, 500: internal}[a.status]
		if a.status != 200 {
			w.Header().Set("Content-Type", "application/problem+json")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}

// waits records the waits between attempts instead of making them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

var testRetry = client.Retry{Attempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second}

func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		name         string
		answers      []answer
		wantRequests int
		wantStatus   int // of the *Problem returned; 0 for success
		// each wait must lie in [lo, hi]
		wantWaits [][2]time.Duration
	}{
		{
			name:         "429 with Retry-After in seconds",
			answers:      []answer{{status: 429, retryAfter: "2"}, {status: 200}},
			wantRequests: 2,
			wantWaits:    [][2]time.Duration{{2 * time.Second, 2 * time.Second}},
		},
		{
			name:         "503 with Retry-After as an HTTP date",
			answers:      []answer{{status: 503, retryAfter: time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}, {status: 200}},
			wantRequests: 2,
			wantWaits:    [][2]time.Duration{{time.Second, 3 * time.Second}},
		},
		{
			name:         "503 without Retry-After backs off with jitter",
			answers:      []answer{{status: 503}, {status: 503}, {status: 200}},
			wantRequests: 3,
			wantWaits:    [][2]time.Duration{{50 * time.Millisecond, 100 * time.Millisecond}, {100 * time.Millisecond, 200 * time.Millisecond}},
		},
		{
			name:         "attempts run out",
			answers:      []answer{{status: 429, retryAfter: "1"}},
			wantRequests: 3,
			wantStatus:   429,
			wantWaits:    [][2]time.Duration{{time.Second, time.Second}, {time.Second, time.Second}},
		},
		{
			name:         "Retry-After above MaxDelay is not waited for",
			answers:      []answer{{status: 429, retryAfter: "60"}},
			wantRequests: 1,
			wantStatus:   429,
		},
		{
			name:         "400 is not retried",
			answers:      []answer{{status: 400}},
			wantRequests: 1,
			wantStatus:   400,
		},
		{
			name:         "500 is not retried",
			answers:      []answer{{status: 500}},
			wantRequests: 1,
			wantStatus:   500,
		},
		{
			name:         "connection closed without an answer",
			answers:      []answer{{hangUp: true}, {status: 200}},
			wantRequests: 2,
			wantWaits:    [][2]time.Duration{{50 * time.Millisecond, 100 * time.Millisecond}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, bodies := scripted(t, tc.answers...)
			var w waits
			c := client.New(srv.URL, client.StaticToken("tok"), client.WithRetry(testRetry), client.WithSleep(w.sleep))
			req := client.Request{Bucket: "b", Key: "k", Metadata: map[string]string{"a": "b"}}
			_, err := c.Presign(context.Background(), req)
			if tc.wantStatus == 0 && err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if tc.wantStatus != 0 {
				var p *client.Problem
				if !errors.As(err, &p) || p.Status != tc.wantStatus {
					t.Fatalf("got %v, want a %d problem", err, tc.wantStatus)
				}
			}
			got := bodies()
			if len(got) != tc.wantRequests {
				t.Errorf("got %d requests, want %d", len(got), tc.wantRequests)
			}
			for i, b := range got {
				if string(b) != string(got[0]) {
					t.Errorf("attempt %d sent %q, want the first attempt's body %q", i+1, b, got[0])
				}
			}
			gotWaits := w.get()
			if len(gotWaits) != len(tc.wantWaits) {
				t.Fatalf("waits: got %v, want %d of them", gotWaits, len(tc.wantWaits))
			}
			for i, d := range gotWaits {
				if lo, hi := tc.wantWaits[i][0], tc.wantWaits[i][1]; d < lo || d > hi {
					t.Errorf("wait %d: got %v, want between %v and %v", i+1, d, lo, hi)
				}
			}
		})
	}
}

func TestRetryAfterIsReported(t *testing.T) {
	srv, _ := scripted(t, answer{status: 429, retryAfter: "60"})
	_, err := client.New(srv.URL, client.StaticToken("tok")).Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
	var p *client.Problem
	if !errors.As(err, &p) || p.Code != "rate_limited" || p.RetryAfter != time.Minute {
		t.Fatalf("got %#v, want a rate_limited problem with RetryAfter 1m", err)
	}
}

// TestRetryStopsWithContext waits for real: a cancelled context ends the wait at once.
func TestRetryStopsWithContext(t *testing.T) {
	srv, bodies := scripted(t, answer{status: 503, retryAfter: "5"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := client.New(srv.URL, client.StaticToken("tok")).Presign(ctx, client.Request{Bucket: "b", Key: "k"})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v, want the cancel to end the wait", took)
	}
	var p *client.Problem
	if !errors.Is(err, context.Canceled) || !errors.As(err, &p) || p.Status != 503 {
		t.Errorf("got %v, want both the 503 problem and context.Canceled", err)
	}
	if n := len(bodies()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
}

// TestRetryWithinDeadline: a Retry-After beyond the context's deadline is not waited for.
func TestRetryWithinDeadline(t *testing.T) {
	srv, bodies := scripted(t, answer{status: 429, retryAfter: "3"})
	var w waits
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := client.New(srv.URL, client.StaticToken("tok"), client.WithSleep(w.sleep))
	_, err := c.Presign(ctx, client.Request{Bucket: "b", Key: "k"})
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 429 {
		t.Fatalf("got %v, want the 429 problem", err)
	}
	if n, ws := len(bodies()), w.get(); n != 1 || len(ws) != 0 {
		t.Errorf("got %d requests and waits %v, want 1 request and no wait", n, ws)
	}
}

func TestRetryOff(t *testing.T) {
	srv, bodies := scripted(t, answer{status: 503})
	c := client.New(srv.URL, client.StaticToken("tok"), client.WithRetry(client.Retry{Attempts: 1}))
	if _, err := c.Presign(context.Background(), client.Request{Bucket: "b", Key: "k"}); err == nil {
		t.Fatal("got success, want the 503")
	}
	if n := len(bodies()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
}

// TestRetryConnectionErrors: a request that may have reached presignd is repeated unless
// it creates an upload; one that could not be sent is repeated whatever it is.
func TestRetryConnectionErrors(t *testing.T) {
	calls := map[string]func(context.Context, *client.Client) error{
		"presign": func(ctx context.Context, c *client.Client) error {
			_, err := c.Presign(ctx, client.Request{Bucket: "b", Key: "k"})
			return err
		},
		"create": func(ctx context.Context, c *client.Client) error {
			_, err := c.CreateMultipart(ctx, client.MultipartCreateRequest{Bucket: "b", Key: "k"})
			return err
		},
		"complete": func(ctx context.Context, c *client.Client) error {
			_, err := c.CompleteMultipart(ctx, client.MultipartCompleteRequest{Bucket: "b", Key: "k", UploadID: "v2.a.b", Parts: []client.CompletedPart{{PartNumber: 1, ETag: "e"}}})
			return err
		},
		"abort": func(ctx context.Context, c *client.Client) error {
			return c.AbortMultipart(ctx, client.MultipartAbortRequest{Bucket: "b", Key: "k", UploadID: "v2.a.b"})
		},
	}
	wantAfterHangUp := map[string]int{"presign": 3, "create": 1, "complete": 3, "abort": 3}

	for name, call := range calls {
		t.Run(name+"/hang up", func(t *testing.T) {
			srv, bodies := scripted(t, answer{hangUp: true})
			var w waits
			c := client.New(srv.URL, client.StaticToken("tok"), client.WithRetry(testRetry), client.WithSleep(w.sleep))
			if err := call(context.Background(), c); err == nil {
				t.Fatal("got no error")
			}
			if got, want := len(bodies()), wantAfterHangUp[name]; got != want {
				t.Errorf("got %d requests, want %d", got, want)
			}
		})
		t.Run(name+"/refused", func(t *testing.T) {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			var w waits
			c := client.New(srv.URL, client.StaticToken("tok"), client.WithRetry(testRetry), client.WithSleep(w.sleep))
			if err := call(context.Background(), c); err == nil {
				t.Fatal("got no error")
			}
			if got := len(w.get()); got != 2 {
				t.Errorf("got %d retries, want 2", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Sun, 22 Nov 2026 20:00:30 GMT", 30 * time.Second, true},
		{"Sun, 22 Nov 2026 19:00:00 GMT", 0, true},
		{"99999999999", 24 * time.Hour, true},
	} {
		got, ok := client.ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ParseRetryAfter(%q): got %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}
