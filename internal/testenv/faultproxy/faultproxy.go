// Package faultproxy is a TCP proxy for tests that puts faults between a client and
// an HTTP server, such as presignd and its S3:
//
//	p := faultproxy.Start(t, "127.0.0.1:7070")
//	// point the client at p.URL
//	p.Set(faultproxy.Hang, faultproxy.Method("DELETE"))
//
// Each request meets the fault in force when it starts. A fault applies to every
// request, or, with a match, only to the requests whose first bytes match (the
// request line and headers, as the client wrote them), so that one call of several
// on a kept-alive connection can fail. A connection that met a fault keeps it.
//
// This package is test support: only tests may import it.
package faultproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Mode is what the proxy does to a request.
type Mode int

// The modes.
const (
	// Pass forwards the request and its answer.
	Pass Mode = iota
	// Refuse closes the connection at once: at accept for a fault without a match,
	// else when the matching request arrives, which is never forwarded.
	Refuse
	// Hang reads the request and never answers, nor closes the connection.
	Hang
	// Slow forwards the request and holds the answer back for the proxy's Delay.
	Slow
	// Reset forwards the request, passes the first ResetAfter bytes of the answer,
	// then resets the connection (RST, by SetLinger(0)).
	Reset
	// InternalError answers 500 InternalError with S3's XML error body.
	InternalError
	// SlowDown answers 503 SlowDown with S3's XML error body.
	SlowDown
)

var modeNames = [...]string{"pass", "refuse", "hang", "slow", "reset", "500 InternalError", "503 SlowDown"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "mode(" + strconv.Itoa(int(m)) + ")"
	}
	return modeNames[m]
}

// Match says whether a request meets the fault, from its first bytes.
type Match func(head []byte) bool

// Method matches requests with the HTTP method.
func Method(method string) Match {
	prefix := []byte(method + " ")
	return func(head []byte) bool { return bytes.HasPrefix(head, prefix) }
}

// MethodQuery matches requests with the HTTP method whose request line holds s
// (such as "uploadId=" for the calls on an upload, "uploads" for create).
func MethodQuery(method, s string) Match {
	m := Method(method)
	return func(head []byte) bool {
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return m(head) && bytes.Contains(line, []byte(s))
	}
}

// Proxy is a running fault proxy.
type Proxy struct {
	// URL is http://ADDR, Addr the address it listens on.
	URL, Addr string
	// Delay is how long Slow holds an answer back; ResetAfter how many bytes of the
	// answer Reset passes. Set them before the proxy is used.
	Delay      time.Duration
	ResetAfter int

	upstream string
	ln       net.Listener
	wg       sync.WaitGroup
	done     chan struct{}

	mu       sync.Mutex
	mode     Mode
	match    Match
	conns    map[net.Conn]bool
	accepted int
	faulted  int
	closed   bool
}

// Start runs a proxy to upstream (host:port) on a free loopback port, in mode Pass,
// and stops it when the test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(),
		Delay: 5 * time.Second, ResetAfter: 20,
		upstream: upstream, ln: ln, done: make(chan struct{}), conns: map[net.Conn]bool{},
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Set makes mode the fault of the requests that match (every request when match is
// nil). The connections open now are closed, so that a client's pool of kept-alive
// connections cannot carry the previous mode, and Set waits a moment for clients to
// see the closes (a client that writes a request to a connection it has not yet seen
// closed gets an error that a retry would have to absorb).
func (p *Proxy) Set(mode Mode, match Match) {
	p.mu.Lock()
	p.mode, p.match = mode, match
	closed := len(p.conns)
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	if closed > 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

// Open is the number of client connections open now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted is the number of client connections accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Faulted is the number of requests that met a fault so far.
func (p *Proxy) Faulted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faulted
}

// Close stops the proxy: it closes the listener and every connection and waits for
// all of its goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.accepted++
		refuse := p.mode == Refuse && p.match == nil
		if refuse {
			p.faulted++
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = true
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// fault is the mode a request with these first bytes meets now.
func (p *Proxy) fault(head []byte) Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Pass || (p.match != nil && !p.match(head)) {
		return Pass
	}
	p.faulted++
	return p.mode
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// conn is one client connection and, once a request is forwarded, its upstream.
type conn struct {
	p      *Proxy
	client net.Conn
	up     net.Conn
	gone   chan struct{} // closed when the client's side is done
	// answer is how the upstream's answer is passed on, set when a request meets
	// Slow or Reset; the copier reads it.
	mu     sync.Mutex
	answer Mode
	held   time.Time // Slow: the answer waits until then
	passed int       // Reset: bytes passed since the fault
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.forget(client)
	defer client.Close()
	c := &conn{p: p, client: client, gone: make(chan struct{})}
	defer close(c.gone)
	defer func() {
		if c.up != nil {
			c.up.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if stop := c.request(buf[:n]); stop {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// request handles bytes from the client: the start of a request, or more of one.
// It reports whether the connection is done.
func (c *conn) request(chunk []byte) (stop bool) {
	// A chunk that starts like a request line starts a request: Go's client writes
	// the head of a request in one piece, and never pipelines.
	mode := Pass
	if startsRequest(chunk) {
		mode = c.p.fault(chunk)
	}
	switch mode {
	case Refuse:
		return true
	case Hang:
		// Read on, never answer; the client gives up and closes.
		_, _ = io.Copy(io.Discard, c.client)
		return true
	case InternalError, SlowDown:
		c.answerError(chunk, mode)
		return true
	case Slow, Reset:
		c.mu.Lock()
		c.answer, c.held, c.passed = mode, time.Now().Add(c.p.Delay), 0
		c.mu.Unlock()
	}
	if c.up == nil {
		up, err := net.Dial("tcp", c.p.upstream)
		if err != nil {
			return true
		}
		c.up = up
		c.p.wg.Add(1)
		go c.copyAnswers()
	}
	_, err := c.up.Write(chunk)
	return err != nil
}

func startsRequest(b []byte) bool {
	sp := bytes.IndexByte(b, ' ')
	if sp < 3 || sp > 8 {
		return false
	}
	for _, r := range b[:sp] {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// copyAnswers passes the upstream's answers to the client, as the mode says.
func (c *conn) copyAnswers() {
	defer c.p.wg.Done()
	defer c.client.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.up.Read(buf)
		if n > 0 {
			out, reset := c.pass(buf[:n])
			if len(out) > 0 {
				if _, werr := c.client.Write(out); werr != nil {
					return
				}
			}
			if reset {
				if tc, ok := c.client.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass is the part of an answer's bytes to pass on now, after holding them back for
// Slow, and whether to reset the connection after them.
func (c *conn) pass(b []byte) ([]byte, bool) {
	c.mu.Lock()
	mode, held := c.answer, c.held
	c.mu.Unlock()
	switch mode {
	case Slow:
		if wait := time.Until(held); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.gone:
				return nil, false
			}
		}
	case Reset:
		c.mu.Lock()
		defer c.mu.Unlock()
		left := max(c.p.ResetAfter-c.passed, 0)
		if len(b) >= left {
			return b[:left], true
		}
		c.passed += len(b)
	}
	return b, false
}

// answerError reads the whole request (so that closing the connection after the
// answer resets nothing the client has yet to read) and answers with S3's error.
func (c *conn) answerError(chunk []byte, mode Mode) {
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(chunk), c.client)))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	status, code, msg := http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."
	if mode == SlowDown {
		status, code, msg = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId><HostId>faultproxy</HostId></Error>`, code, msg)
	_, _ = fmt.Fprintf(c.client, "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}
