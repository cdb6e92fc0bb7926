// Command tlsload is the load test's closed-loop HTTPS load generator, for the loads
// wrk cannot make: callers that present a client certificate. Each of -c connections
// is one goroutine with a transport of its own holding one keep-alive HTTP/1.1
// connection, which sends a request, reads the whole answer, pauses for -pause and
// sends the next, until -warmup and then -d have passed. Only the requests that
// start after the warm-up are measured; the connections (and so their handshakes)
// are the same in both.
//
//	tlsload -url https://127.0.0.1:8443/v1/presign -c 64 -d 10s -body get.json \
//	    -header 'Content-Type: application/json' -ca ca.pem -cert client.pem -key client.key
//
// With -body the requests are POSTs of that file, else GETs. It prints one line on
// stdout, fields separated by single spaces, each NAME=VALUE:
//
//	requests=N seconds=S rps=R p50_ms=A p99_ms=B non2xx=N errors=N handshakes=H connections=C
//
// requests are those measured (all answered), seconds the time from the end of the
// warm-up to the last answer, rps requests/seconds, p50_ms and p99_ms the latency
// percentiles of the measured requests in milliseconds, non2xx the answers (warm-up
// included) that were not 2xx, errors the requests that got no answer, handshakes
// the TLS handshakes made (warm-up included; one per connection when every
// connection was kept) and connections -c. It exits 1, after the line, when non2xx
// or errors is not 0, saying on stderr what the first of them was; 2 on bad flags.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// headers is the repeatable -header flag.
type headers []string

func (h *headers) String() string { return strings.Join(*h, ", ") }

func (h *headers) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not of the form Name: value", v)
	}
	*h = append(*h, strings.TrimSpace(name)+": "+strings.TrimSpace(value))
	return nil
}

// options are the flags, what setUp makes of them, and the counts of a load.
type options struct {
	// The flags.
	url                             string
	conns                           int
	duration, warmup, pause         time.Duration
	bodyFile, certFile, keyFile, ca string
	headerFlags                     headers

	// The requests to make, from the flags.
	method string
	body   []byte
	header http.Header
	tls    *tls.Config

	// What happened, across the connections.
	handshakes, non2xx, failed atomic.Int64
	firstFailure               atomic.Pointer[string]
}

func run(args []string, stdout, stderr io.Writer) int {
	o := &options{}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "the `URL` to load (https://...)")
	fs.IntVar(&o.conns, "c", 64, "connections, each its own goroutine and keep-alive connection")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", 0, "how long to load before measuring, on the same connections")
	fs.DurationVar(&o.pause, "pause", 0, "each connection's pause between an answer and its next request")
	fs.StringVar(&o.bodyFile, "body", "", "POST the contents of this `file` (default: GET with no body)")
	fs.Var(&o.headerFlags, "header", "a request header, `Name: value` (repeatable)")
	fs.StringVar(&o.certFile, "cert", "", "client certificate `file` (PEM) to present, with -key")
	fs.StringVar(&o.keyFile, "key", "", "the client certificate's key `file` (PEM)")
	fs.StringVar(&o.ca, "ca", "", "CA certificate `file` (PEM) to trust for the server's certificate (default: the system's roots)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := o.setUp(); err != nil {
		fmt.Fprintf(stderr, "tlsload: %v\n", err)
		return 2
	}
	res := o.load()
	fmt.Fprintf(stdout, "requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d handshakes=%d connections=%d\n",
		len(res.latencies), res.elapsed.Seconds(), float64(len(res.latencies))/res.elapsed.Seconds(),
		ms(percentile(res.latencies, 0.50)), ms(percentile(res.latencies, 0.99)),
		o.non2xx.Load(), o.failed.Load(), o.handshakes.Load(), o.conns)
	if f := o.firstFailure.Load(); f != nil {
		fmt.Fprintf(stderr, "tlsload: first failure: %s\n", *f)
		return 1
	}
	return 0
}

// setUp checks the flags and loads the files they name.
func (o *options) setUp() error {
	switch {
	case o.url == "":
		return errors.New("-url is required")
	case o.conns < 1:
		return errors.New("-c must be at least 1")
	case o.duration <= 0:
		return errors.New("-d must be positive")
	case o.warmup < 0 || o.pause < 0:
		return errors.New("-warmup and -pause cannot be negative")
	case (o.certFile == "") != (o.keyFile == ""):
		return errors.New("-cert and -key go together")
	}
	o.method = http.MethodGet
	if o.bodyFile != "" {
		b, err := os.ReadFile(o.bodyFile)
		if err != nil {
			return err
		}
		o.body, o.method = b, http.MethodPost
	}
	o.header = http.Header{}
	for _, h := range o.headerFlags {
		name, value, _ := strings.Cut(h, ": ")
		o.header.Add(name, value)
	}
	// HTTP/1.1, as wrk speaks, whatever else the server offers.
	o.tls = &tls.Config{NextProtos: []string{"http/1.1"}}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return err
		}
		o.tls.RootCAs = x509.NewCertPool()
		if !o.tls.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", o.ca)
		}
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return err
		}
		o.tls.Certificates = []tls.Certificate{cert}
	}
	return nil
}

// result is what a load measured.
type result struct {
	latencies []time.Duration // sorted
	elapsed   time.Duration
}

// load runs the connections and gathers what they measured.
func (o *options) load() result {
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	until := measureFrom.Add(o.duration)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
		last      time.Time
	)
	for range o.conns {
		wg.Go(func() {
			l, end := o.connection(measureFrom, until)
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, l...)
			if end.After(last) {
				last = end
			}
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	elapsed := last.Sub(measureFrom)
	if elapsed <= 0 {
		elapsed = o.duration
	}
	return result{latencies: latencies, elapsed: elapsed}
}

// connection is one closed-loop caller on a transport of its own that keeps one
// connection: it returns the latencies of the requests it started at or after
// measureFrom, and when its last answer came.
func (o *options) connection(measureFrom, until time.Time) ([]time.Duration, time.Time) {
	tr := &http.Transport{
		DialTLSContext:      o.dialTLS,
		MaxConnsPerHost:     1,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		latencies []time.Duration
		last      time.Time
	)
	for {
		began := time.Now()
		if !began.Before(until) {
			return latencies, last
		}
		ok := o.request(client)
		done := time.Now()
		if ok && !began.Before(measureFrom) {
			latencies = append(latencies, done.Sub(began))
			last = done
		}
		if o.pause > 0 {
			time.Sleep(o.pause)
		}
	}
}

// request makes one request and reads its answer; it counts and records a failure.
func (o *options) request(client *http.Client) bool {
	req, err := http.NewRequest(o.method, o.url, bytes.NewReader(o.body))
	if err != nil {
		o.fail(err.Error())
		o.failed.Add(1)
		return false
	}
	req.Header = o.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		o.fail(err.Error())
		o.failed.Add(1)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		o.fail("reading the answer: " + err.Error())
		o.failed.Add(1)
		return false
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		o.fail(fmt.Sprintf("%s answered %s", o.url, clip(resp.Status+" "+string(body))))
		o.non2xx.Add(1)
		return false
	}
	return true
}

// dialTLS opens a connection and makes its handshake, counting it.
func (o *options) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		raw.Close()
		return nil, err
	}
	tc := o.tls.Clone()
	tc.ServerName = host
	conn := tls.Client(raw, tc)
	o.handshakes.Add(1)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// fail keeps the first failure's description.
func (o *options) fail(what string) {
	o.firstFailure.CompareAndSwap(nil, &what)
}

// percentile is the q-th quantile of sorted (nearest rank), 0 when it is empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// clip shortens an answer for a message.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
