package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/testenv/faultproxy"
)

// answer is the upstream's body, longer than ResetAfter.
var answer = strings.Repeat("0123456789", 100)

func startProxy(t *testing.T) (*faultproxy.Proxy, *http.Client) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, r.Method+" "+answer)
	}))
	t.Cleanup(up.Close)
	p := faultproxy.Start(t, strings.TrimPrefix(up.URL, "http://"))
	p.Delay, p.ResetAfter = 300*time.Millisecond, 50
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return p, &http.Client{Transport: tr, Timeout: 2 * time.Second}
}

// call makes one request through the proxy and returns the status and whole body,
// or the error, and how long it took.
func call(c *http.Client, method, url string) (int, string, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequest(method, url, strings.NewReader("<Body/>"))
	if err != nil {
		return 0, "", 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), time.Since(start), err
}

func TestModes(t *testing.T) {
	p, c := startProxy(t)
	for _, tt := range []struct {
		mode       faultproxy.Mode
		timeout    time.Duration
		wantStatus int
		wantBody   string // a substring
		wantErr    bool
		minTime    time.Duration
	}{
		{mode: faultproxy.Pass, wantStatus: 200, wantBody: "PUT " + answer},
		{mode: faultproxy.Refuse, wantErr: true},
		{mode: faultproxy.Hang, timeout: 400 * time.Millisecond, wantErr: true, minTime: 400 * time.Millisecond},
		{mode: faultproxy.Slow, wantStatus: 200, wantBody: "PUT " + answer, minTime: 300 * time.Millisecond},
		{mode: faultproxy.Slow, timeout: 150 * time.Millisecond, wantErr: true, minTime: 150 * time.Millisecond},
		{mode: faultproxy.Reset, wantErr: true},
		{mode: faultproxy.InternalError, wantStatus: 500, wantBody: "<Code>InternalError</Code>"},
		{mode: faultproxy.SlowDown, wantStatus: 503, wantBody: "<Code>SlowDown</Code>"},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			p.Set(tt.mode, nil)
			c.Timeout = 2 * time.Second
			if tt.timeout > 0 {
				c.Timeout = tt.timeout
			}
			status, body, took, err := call(c, http.MethodPut, p.URL+"/bucket/key")
			switch {
			case tt.wantErr && err == nil:
				t.Errorf("got %d %q, want an error", status, body)
			case !tt.wantErr && err != nil:
				t.Errorf("got error %v, want %d", err, tt.wantStatus)
			case !tt.wantErr && (status != tt.wantStatus || !strings.Contains(body, tt.wantBody)):
				t.Errorf("got %d %q, want %d with %q", status, body, tt.wantStatus, tt.wantBody)
			}
			if took < tt.minTime || took > tt.minTime+time.Second {
				t.Errorf("took %s, want %s to %s", took, tt.minTime, tt.minTime+time.Second)
			}
		})
	}
	if p.Faulted() == 0 {
		t.Error("no request met a fault")
	}
}

// A reset comes after part of the answer: the client has the status and loses the body.
func TestResetMidAnswer(t *testing.T) {
	p, c := startProxy(t)
	p.ResetAfter = len("HTTP/1.1 200 OK\r\n") + 10
	p.Set(faultproxy.Reset, nil)
	_, _, _, err := call(c, http.MethodGet, p.URL+"/a")
	if err == nil {
		t.Fatal("got an answer, want an error")
	}
	// Cut inside the head: the client reads a truncated head, then the reset.
	var op *net.OpError
	if !errors.As(err, &op) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("got %v, want a reset or a truncated answer", err)
	}
}

// With a match, only the matching requests meet the fault, even on a connection
// kept alive from a request that passed.
func TestMatchOnKeptAliveConnection(t *testing.T) {
	p, c := startProxy(t)
	p.Set(faultproxy.SlowDown, faultproxy.MethodQuery(http.MethodDelete, "uploadId="))
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/b/k?uploadId=1", 200},
		{http.MethodDelete, "/b/k", 200},
		{http.MethodDelete, "/b/k?uploadId=1", 503},
		{http.MethodGet, "/b/k?uploadId=1", 200},
	} {
		status, body, _, err := call(c, tt.method, p.URL+tt.path)
		if err != nil || status != tt.want {
			t.Errorf("%s %s: got %d %q %v, want %d", tt.method, tt.path, status, body, err, tt.want)
		}
	}
	if got := p.Faulted(); got != 1 {
		t.Errorf("%d requests met the fault, want 1", got)
	}
}

// Hung connections are the client's to close; once it does, the proxy holds nothing.
func TestHungConnectionsClose(t *testing.T) {
	p, c := startProxy(t)
	p.Set(faultproxy.Hang, nil)
	c.Timeout = 100 * time.Millisecond
	for range 5 {
		if _, _, _, err := call(c, http.MethodGet, p.URL+"/a"); err == nil {
			t.Fatal("a hung request got an answer")
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for p.Open() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.Open(); n != 0 {
		t.Errorf("%d connections still open after the client gave up on them", n)
	}
	if n := p.Accepted(); n != 5 {
		t.Errorf("accepted %d connections, want 5", n)
	}
}
