// Command loader is the client side of make surge: it opens many keep-alive
// connections to a server on loopback, sends one request on each and keeps them open,
// the way a fleet of clients restarting at once or a retry storm does. It reports
// what the server answered and what became of the connections.
//
// Phases, each bounded in time:
//  1. open: dial -conns connections (at most -dialers at a time), send one request on
//     each, read the answer; then print "peak" on stdout and hold them open for -hold.
//  2. reuse: send a second request on every connection the server kept open.
//  3. close every connection and print the summary.
//
// Requests are written and answers parsed by hand on raw connections, so that the
// loader's own memory is small and easy to tell apart from the server's.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server `host:port` (loopback only)")
	conns := flag.Int("conns", 5000, "connections to open")
	dialers := flag.Int("dialers", 200, "connections being opened at once")
	path := flag.String("path", "/v1/presign", "request path")
	token := flag.String("token", "", "bearer token (none when empty)")
	body := flag.String("body", `{"bucket":"dev","key":"surge/a.txt"}`, "request body (POST); empty: GET")
	hold := flag.Duration("hold", 5*time.Second, "how long to hold the connections open after opening them")
	timeout := flag.Duration("timeout", 30*time.Second, "per-request timeout")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(os.Stderr, "loader: %q is not a loopback address; the surge runs on loopback only\n", *addr)
		os.Exit(2)
	}
	req := request(*addr, *path, *token, *body)

	var st stats
	sem := make(chan struct{}, *dialers)
	start := time.Now()
	all := openAll(*addr, *conns, sem, req, *timeout, &st)
	opened := time.Since(start)

	// While holding, a connection the server closes shows up as a read that ends.
	var closedWhileIdle atomic.Int64
	for _, cl := range all {
		if cl != nil && cl.open {
			cl.watch(&closedWhileIdle)
		}
	}
	fmt.Printf("peak: %d connections attempted in %.1fs; holding %s\n", *conns, opened.Seconds(), *hold)
	os.Stdout.Sync()
	time.Sleep(*hold)

	var held int
	for _, cl := range all {
		if cl != nil && cl.stopWatching() {
			held++
		}
	}
	var reuse stats
	reuseAll(all, sem, req, *timeout, &reuse)
	for _, cl := range all {
		if cl != nil {
			cl.conn.Close()
		}
	}

	out := map[string]any{
		"connections":       *conns,
		"open_seconds":      round(opened.Seconds()),
		"first_request":     st.snapshot(),
		"closed_while_idle": closedWhileIdle.Load(),
		"held_open":         held,
		"second_request":    reuse.snapshot(),
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// openAll opens n connections, at most cap(sem) at once, and sends req on each.
func openAll(addr string, n int, sem chan struct{}, req []byte, timeout time.Duration, st *stats) []*client {
	all := make([]*client, n)
	var wg sync.WaitGroup
	for i := range all {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err != nil {
				st.add("dial_error", err)
				return
			}
			cl := &client{conn: c, br: bufio.NewReaderSize(c, 2048)}
			all[i] = cl
			st.count(cl.do(req, timeout))
		}()
	}
	wg.Wait()
	return all
}

// reuseAll sends req again on every connection still open.
func reuseAll(all []*client, sem chan struct{}, req []byte, timeout time.Duration, st *stats) {
	var wg sync.WaitGroup
	for _, cl := range all {
		if cl == nil || !cl.open {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st.count(cl.do(req, timeout))
		}()
	}
	wg.Wait()
}

func round(f float64) float64 { return float64(int(f*10)) / 10 }

func request(addr, path, token, body string) []byte {
	method := "POST"
	if body == "" {
		method = "GET"
	}
	s := method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: presignd-surge\r\n"
	if token != "" {
		s += "Authorization: Bearer " + token + "\r\n"
	}
	if body != "" {
		s += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	return []byte(s + "\r\n" + body)
}

// client is one keep-alive connection.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	open bool // the server kept the connection after the last answer

	watching chan struct{} // closed when watch's read returns
	peeked   error
}

// do sends one request and reads the answer; it returns the status code as a string,
// or the kind of failure.
func (c *client) do(req []byte, timeout time.Duration) (string, error) {
	c.open = false
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(req); err != nil {
		return "write_error", err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "closed_before_answer", err
		}
		return "read_error", err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return "read_error", err
	}
	_ = c.conn.SetDeadline(time.Time{})
	c.open = !res.Close
	code := strconv.Itoa(res.StatusCode)
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
		code += "_without_retry_after"
	}
	return code, nil
}

// watch waits, in the background, for the server to close the idle connection.
func (c *client) watch(closed *atomic.Int64) {
	c.watching = make(chan struct{})
	go func() {
		defer close(c.watching)
		_, c.peeked = c.br.Peek(1)
		if c.peeked != nil && !isTimeout(c.peeked) {
			closed.Add(1)
		}
	}()
}

// stopWatching ends watch and reports whether the connection is still open.
func (c *client) stopWatching() bool {
	if c.watching == nil {
		return false
	}
	_ = c.conn.SetReadDeadline(time.Now())
	<-c.watching
	_ = c.conn.SetReadDeadline(time.Time{})
	if c.peeked != nil && !isTimeout(c.peeked) {
		c.open = false
	}
	return c.open
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stats counts outcomes by kind.
type stats struct {
	mu     sync.Mutex
	counts map[string]int
	sample map[string]string
}

func (s *stats) count(kind string, err error) { s.add(kind, err) }

func (s *stats) add(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts, s.sample = map[string]int{}, map[string]string{}
	}
	s.counts[kind]++
	if err != nil && s.sample[kind] == "" {
		s.sample[kind] = err.Error()
	}
}

func (s *stats) snapshot() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for k, v := range s.counts {
		out[k] = v
	}
	if len(s.sample) > 0 {
		out["error_samples"] = s.sample
	}
	return out
}
