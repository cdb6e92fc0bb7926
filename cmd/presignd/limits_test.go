package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

func TestCgroupMemoryMax(t *testing.T) {
	tests := []struct {
		name    string
		self    string // /proc/self/cgroup; "" for none
		files   map[string]string
		want    int64
		ok      bool
		wantErr bool
	}{
		{name: "own cgroup namespace", self: "0::/\n", files: map[string]string{"memory.max": "268435456\n"}, want: 268435456, ok: true},
		{name: "nested cgroup", self: "0::/kubepods/pod1/c1\n", files: map[string]string{"memory.max": "max\n", "kubepods/pod1/c1/memory.max": "134217728\n"}, want: 134217728, ok: true},
		{name: "cgroup v1 lines are skipped", self: "4:memory:/x\n0::/c\n", files: map[string]string{"c/memory.max": "1048576\n"}, want: 1048576, ok: true},
		{name: "no /proc/self/cgroup", files: map[string]string{"memory.max": "1048576\n"}, want: 1048576, ok: true},
		{name: "no limit", self: "0::/\n", files: map[string]string{"memory.max": "max\n"}},
		{name: "no cgroup v2", self: "4:memory:/x\n"},
		{name: "not a number", self: "0::/\n", files: map[string]string{"memory.max": "lots\n"}, wantErr: true},
		{name: "zero", self: "0::/\n", files: map[string]string{"memory.max": "0\n"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cg := cgroupFS{procSelfCgroup: filepath.Join(dir, "proc-self-cgroup"), root: filepath.Join(dir, "cgroup")}
			if tt.self != "" {
				writeFileAll(t, cg.procSelfCgroup, tt.self)
			}
			for name, data := range tt.files {
				writeFileAll(t, filepath.Join(cg.root, name), data)
			}
			got, _, ok, err := cg.memoryMax()
			if (err != nil) != tt.wantErr || got != tt.want || ok != tt.ok {
				t.Errorf("got %d, %v, %v; want %d, %v, error %v", got, ok, err, tt.want, tt.ok, tt.wantErr)
			}
		})
	}
}

// writeFileAll writes a file, making its directories.
func writeFileAll(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, data)
}

func TestSetMemoryLimit(t *testing.T) {
	// Not parallel: the memory limit is the process's.
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	dir := t.TempDir()
	cg := cgroupFS{procSelfCgroup: filepath.Join(dir, "none"), root: dir}
	writeFile(t, filepath.Join(dir, "memory.max"), "268435456\n")
	var logs syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	got := setMemoryLimit(mapEnv(nil), cg, log)
	if want := int64(268435456 * 9 / 10); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("from memory.max 256 MiB: got %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}
	if !strings.Contains(logs.String(), `"gomemlimit":241591910`) {
		t.Errorf("the derived limit is not logged: %s", logs.String())
	}

	// GOMEMLIMIT is the runtime's own: it is left alone.
	debug.SetMemoryLimit(100 << 20)
	if got := setMemoryLimit(mapEnv(map[string]string{"GOMEMLIMIT": "100MiB"}), cg, log); got != 100<<20 || debug.SetMemoryLimit(-1) != 100<<20 {
		t.Errorf("with GOMEMLIMIT: got %d, want it left at %d", got, 100<<20)
	}

	// Without a limit, nothing is set.
	debug.SetMemoryLimit(prev)
	writeFile(t, filepath.Join(dir, "memory.max"), "max\n")
	if got := setMemoryLimit(mapEnv(nil), cg, log); got != 0 || debug.SetMemoryLimit(-1) != prev {
		t.Errorf("with memory.max = max: got %d, want no limit set", got)
	}
}

// TestSurgeIsShedNotFailed opens more keep-alive connections than presignd may keep,
// through run(), and sees requests answered (200, or 503 overloaded with
// Retry-After) and idle connections closed, never a failed request.
func TestSurgeIsShedNotFailed(t *testing.T) {
	t.Parallel()
	const (
		maxConns = 8
		idleMax  = 4
		conns    = 24
	)
	limits := "limits: {max_connections: " + strconv.Itoa(maxConns) + ", close_idle_above: " + strconv.Itoa(idleMax) + ", max_in_flight: 2}"
	p := startPresignd(t, testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{Extra: limits}))
	addr := strings.TrimPrefix(p.URL, "http://")
	body := `{"bucket":"media","key":"reports/a.csv"}`
	req := "POST /v1/presign HTTP/1.1\r\nHost: presignd\r\nAuthorization: Bearer " + tokenA +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body

	type conn struct {
		net.Conn
		br *bufio.Reader
	}
	// send sends the request and reads the answer; closed reports that the server had
	// closed the connection before answering.
	send := func(c *conn) (status int, closed bool, err error) {
		if _, err := io.WriteString(c, req); err != nil {
			return 0, true, nil
		}
		res, err := http.ReadResponse(c.br, nil)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection reset") {
				return 0, true, nil
			}
			return 0, false, err
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return 0, false, err
		}
		if res.StatusCode == http.StatusServiceUnavailable {
			if !bytes.Contains(data, []byte(`"code":"overloaded"`)) || res.Header.Get("Retry-After") == "" {
				return res.StatusCode, false, errors.New("503 without an overloaded problem and Retry-After: " + string(data))
			}
		} else if res.StatusCode != http.StatusOK {
			return res.StatusCode, false, errors.New(string(data))
		}
		return res.StatusCode, false, nil
	}

	// First idleMax connections, which presignd keeps alive; then the rest all at once: each sends one request and keeps the connection.
	all := make([]*conn, conns)
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	for i := range all {
		if i == idleMax {
			wg.Wait()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
			c := &conn{Conn: nc, br: bufio.NewReader(nc)}
			all[i] = c
			status, closed, err := send(c)
			if err != nil || closed {
				t.Errorf("connection %d: got %d, closed %v, error %v; want an answer", i, status, closed, err)
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[http.StatusOK] == 0 || counts[http.StatusOK]+counts[http.StatusServiceUnavailable] != conns {
		t.Errorf("answers: got %v, want %d, each 200 or 503, some 200", counts, conns)
	}

	// Again on every connection: those presignd closed while idle say so at once;
	// the others answer.
	closedIdle, answered := 0, 0
	for i, c := range all {
		if c == nil {
			continue
		}
		status, closed, err := send(c)
		switch {
		case err != nil:
			t.Errorf("connection %d, second request: got %d, error %v", i, status, err)
		case closed:
			closedIdle++
		default:
			answered++
		}
		c.Close()
	}
	if closedIdle < conns-maxConns {
		t.Errorf("%d connections were closed while idle, want at least %d (above max_connections %d)", closedIdle, conns-maxConns, maxConns)
	}
	// Some were closed after their answer (Connection: close while crowded), others
	// while idle (at least the first ones, once the rest came); how many of each depends
	// on timing.
	_, fams := scrape(t, p.AdminURL+"/metrics")
	if got := value(fams, "presignd_http_idle_connections_closed_total", nil); got < 1 {
		t.Errorf("presignd_http_idle_connections_closed_total = %v, want at least 1", got)
	}
	if got := value(fams, "presignd_http_open_connections", nil); got < 0 || got > maxConns {
		t.Errorf("presignd_http_open_connections = %v, want between 0 and %d", got, maxConns)
	}
	if got, want := value(fams, "presignd_http_requests_shed_total", nil), float64(counts[http.StatusServiceUnavailable]); got < want {
		t.Errorf("presignd_http_requests_shed_total = %v, want at least the %v 503s seen", got, want)
	}
	t.Logf("first requests: %v; second: %d answered, %d on connections presignd had closed (%v of them idle)",
		counts, answered, closedIdle, value(fams, "presignd_http_idle_connections_closed_total", nil))
}
