package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// heldPresigner holds every Presign call until released, so that a test can keep
// requests in flight; each held call is announced on entered.
type heldPresigner struct {
	api.Presigner
	entered chan struct{}
	release chan struct{}
}

func (h *heldPresigner) Presign(ctx context.Context, req signer.Request) (signer.Presigned, error) {
	select {
	case h.entered <- struct{}{}:
		<-h.release
	case <-h.release:
	}
	return h.Presigner.Presign(ctx, req)
}

// setLimits puts the test config in force with the limits given (nil: default).
func setLimits(t testing.TB, srv *api.Server, maxConns, closeIdleAbove, maxInFlight *int) {
	t.Helper()
	cfg := loadTestConfig(t)
	cfg.Limits = config.Limits{MaxConnections: maxConns, CloseIdleAbove: closeIdleAbove, MaxInFlight: maxInFlight}
	if err := srv.SetRuntime(runtimeOf(t, cfg, nil)); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// overloadedFixture is a fixture with limits.max_in_flight = 1 and one request held
// in flight; release lets it finish and waits for its answer.
func overloadedFixture(t *testing.T, seen map[string]bool) (f *fixture, release func()) {
	t.Helper()
	held := &heldPresigner{entered: make(chan struct{}), release: make(chan struct{})}
	f = newFixture(t, fixtureOptions{seen: seen, wrap: func(p api.Presigner) api.Presigner { held.Presigner = p; return held }})
	setLimits(t, f.srv, nil, nil, ptr(1))
	done := make(chan int, 1)
	go func() {
		status, _, _ := postRaw(t, f.url+"/v1/presign", reportsToken, `{"bucket":"media","key":"reports/held"}`)
		done <- status
	}()
	<-held.entered
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(held.release)
			if status := <-done; status != http.StatusOK {
				t.Errorf("the held request: got %d, want 200", status)
			}
		})
	}
	t.Cleanup(release)
	return f, release
}

func checkOverloaded(t *testing.T, r result) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.problem.Code != "overloaded" {
		t.Fatalf("got %d %q, want 503 overloaded: %s", r.status, r.problem.Code, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After: got %q, want 1", got)
	}
	if len(r.audit) != 0 {
		t.Errorf("a shed request was audited: %v", r.audit)
	}
}

func TestShedding(t *testing.T) {
	f, release := overloadedFixture(t, nil)
	for _, path := range sortedKeys(apiOperations) {
		checkOverloaded(t, f.postTo(t, path, reportsToken, `{"bucket":"media","key":"reports/a"}`))
	}
	// Shedding comes before authentication: it costs no hashing and no decoding.
	checkOverloaded(t, f.postTo(t, "/v1/presign", "", `{}`))
	// Admin routes are never shed.
	if r := f.get(t, "/healthz"); r.status != http.StatusOK {
		t.Errorf("GET /healthz while overloaded: got %d, want 200", r.status)
	}

	release()
	if r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a"}`); r.status != http.StatusOK {
		t.Errorf("after the held request finished: got %d %s, want 200", r.status, r.body)
	}
	text := f.get(t, "/metrics").body
	for _, want := range []string{
		"presignd_http_requests_shed_total 9\n",
		"presignd_http_requests_in_flight 0\n",
		`presignd_http_requests_total{code="503",route="/v1/presign"} 2` + "\n",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the metrics do not have %q", strings.TrimSpace(want))
		}
	}
}

func TestSheddingCountsABatchAsSixteen(t *testing.T) {
	held := &heldPresigner{entered: make(chan struct{}), release: make(chan struct{})}
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { held.Presigner = p; return held }})
	setLimits(t, f.srv, nil, nil, ptr(16))
	done := make(chan int, 1)
	go func() {
		status, _, _ := postRaw(t, f.url+"/v1/presign", reportsToken, `{"bucket":"media","key":"reports/held"}`)
		done <- status
	}()
	<-held.entered
	batch := `{"requests":[{"bucket":"media","key":"secret/a"}]}`
	checkOverloaded(t, f.postTo(t, "/v1/presign/batch", reportsToken, batch))
	close(held.release)
	if status := <-done; status != http.StatusOK {
		t.Errorf("the held request: got %d, want 200", status)
	}
	if r := f.postTo(t, "/v1/presign/batch", reportsToken, batch); r.status != http.StatusOK {
		t.Errorf("the batch alone: got %d %s, want 200", r.status, r.body)
	}
}

// guarded serves h on a guarded listener of srv and reports each connection that
// turns idle on the returned channel.
func guarded(t *testing.T, srv *api.Server, h http.Handler) (addr string, idle <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 64)
	hs := &http.Server{Handler: h, ConnState: func(c net.Conn, st http.ConnState) {
		srv.ConnState(c, st)
		if st == http.StateIdle {
			ch <- struct{}{}
		}
	}}
	go func() { _ = hs.Serve(srv.GuardListener(ln)) }()
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String(), ch
}

// keepAlive is a client connection on which requests are sent one after another.
type keepAlive struct {
	net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *keepAlive {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{Conn: c, br: bufio.NewReader(c)}
}

// get sends GET path and returns the answer, or the error when the server closed the
// connection.
func (k *keepAlive) get(path string) (*http.Response, error) {
	if _, err := io.WriteString(k, "GET "+path+" HTTP/1.1\r\nHost: presignd\r\n\r\n"); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, err
}

// closedByServer reports whether the server has closed the connection (an open one
// is given a few seconds to show that it is not).
func (k *keepAlive) closedByServer() bool {
	_ = k.SetReadDeadline(time.Now().Add(3 * time.Second))
	defer k.SetReadDeadline(time.Time{})
	_, err := k.br.Peek(1)
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

func TestIdleConnectionsAreClosedAboveTheThreshold(t *testing.T) {
	srv := newServer(t, fixtureOptions{}, &syncbuf.Buffer{})
	setLimits(t, srv, ptr(10), ptr(2), nil)
	addr, idle := guarded(t, srv, srv.Handler(true))

	var conns []*keepAlive
	for i := range 3 {
		c := dial(t, addr)
		res, err := c.get("/healthz")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: got %v %v, want 200", i, res, err)
		}
		<-idle
		conns = append(conns, c)
	}
	// The third connection put three above close_idle_above = 2: the one idle
	// longest, the first, was closed.
	if !conns[0].closedByServer() {
		t.Error("the first connection is still open, want it closed")
	}
	for i, c := range conns[1:] {
		if res, err := c.get("/healthz"); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("connection %d: got %v %v, want it kept alive and answering 200", i+1, res, err)
		}
	}
	text := metricsText(t, srv)
	for _, want := range []string{"presignd_http_idle_connections_closed_total 1\n", "presignd_http_open_connections 2\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the metrics do not have %q", strings.TrimSpace(want))
		}
	}
}

func TestCrowdedResponsesCloseTheirConnection(t *testing.T) {
	srv := newServer(t, fixtureOptions{}, &syncbuf.Buffer{})
	setLimits(t, srv, ptr(10), ptr(0), nil)
	addr, _ := guarded(t, srv, srv.Handler(true))
	c := dial(t, addr)
	res, err := c.get("/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("got %v %v, want 200", res, err)
	}
	if !res.Close {
		t.Error("above close_idle_above, the response does not say Connection: close")
	}
	if !c.closedByServer() {
		t.Error("the connection is still open, want it closed after the response")
	}
}

func TestMaxConnectionsMakesRoomByClosingIdleOnes(t *testing.T) {
	srv := newServer(t, fixtureOptions{}, &syncbuf.Buffer{})
	setLimits(t, srv, ptr(2), ptr(2), ptr(2))
	entered, release := make(chan struct{}, 4), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
	})
	addr, _ := guarded(t, srv, h)

	// Two connections, both busy: the third must wait for room.
	a, b := dial(t, addr), dial(t, addr)
	results := make(chan error, 2)
	for _, c := range []*keepAlive{a, b} {
		go func() {
			_, err := c.get("/hold")
			results <- err
		}()
	}
	<-entered
	<-entered
	third := make(chan error, 1)
	go func() {
		c := dial(t, addr)
		res, err := c.get("/")
		if err == nil && res.StatusCode != http.StatusOK {
			err = errors.New(res.Status)
		}
		third <- err
	}()
	// Once the busy ones finish and turn idle, one is closed and the third is served.
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("a held request failed: %v", err)
		}
	}
	if err := <-third; err != nil {
		t.Errorf("the third connection: %v, want it served once there was room", err)
	}
	if got := a.closedByServer() || b.closedByServer(); !got {
		t.Error("both earlier connections are still open, want one closed to make room")
	}
}

func metricsText(t *testing.T, srv *api.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.AdminHandler()}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	status, _, body := sendRaw(t, http.MethodGet, "http://"+ln.Addr().String()+"/metrics", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	return string(body)
}
