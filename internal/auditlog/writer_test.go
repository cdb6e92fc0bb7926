package auditlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/auditlog"
)

// recorder keeps each Write call it receives, optionally taking delay per call and
// failing the calls whose bytes contain fail.
type recorder struct {
	delay time.Duration
	fail  string

	mu     sync.Mutex
	writes [][]byte
	lines  map[string]bool // every line written
	inside bool            // a Write is in progress
}

var errWrite = errors.New("disk full")

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	if r.inside {
		r.mu.Unlock()
		panic("two Writes at once on the underlying writer")
	}
	r.inside = true
	r.mu.Unlock()
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inside = false
	if r.fail != "" && bytes.Contains(p, []byte(r.fail)) {
		return 0, errWrite
	}
	r.writes = append(r.writes, bytes.Clone(p))
	if r.lines == nil {
		r.lines = make(map[string]bool)
	}
	for l := range bytes.Lines(p) {
		r.lines[string(l)] = true
	}
	return len(p), nil
}

func (r *recorder) calls() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

// contains reports whether line (ending in a newline) has been written.
func (r *recorder) contains(line []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines[string(line)]
}

// line is the line goroutine g writes i-th: lengths vary from about 20 to 600 bytes.
func line(g, i int) []byte {
	return fmt.Appendf(nil, "g=%d i=%d %s\n", g, i, strings.Repeat("x", (g*31+i*17)%580))
}

// writeAll has goroutines goroutines write perG lines each to w, and checks that each
// Write returned nil and len(p) and that its line had reached rec when it returned.
func writeAll(t *testing.T, w *auditlog.Writer, rec *recorder, goroutines, perG int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				p := line(g, i)
				n, err := w.Write(p)
				if err != nil || n != len(p) {
					t.Errorf("Write(%.12q) = %d, %v; want %d, nil", p, n, err, len(p))
					return
				}
				if !rec.contains(p) {
					t.Errorf("Write(%.12q) returned before its line was written", p)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAuditWriterEveryLineOnceIntactInOrder(t *testing.T) {
	const goroutines, perG = 64, 40
	rec := &recorder{delay: 50 * time.Microsecond}
	w := auditlog.NewWriter(rec, 0)
	writeAll(t, w, rec, goroutines, perG)

	next := make(map[int]int) // goroutine → the index of its next line
	lines := 0
	for _, call := range rec.calls() {
		if len(call) == 0 || call[len(call)-1] != '\n' {
			t.Fatalf("a write does not end with a whole line: ...%q", call[max(0, len(call)-20):])
		}
		for _, l := range bytes.SplitAfter(call[:len(call)-1], []byte("\n")) {
			if l[len(l)-1] != '\n' {
				l = append(l, '\n') // the last line of call, whose newline was cut above
			}
			var g, i int
			if _, err := fmt.Sscanf(string(l), "g=%d i=%d", &g, &i); err != nil {
				t.Fatalf("line %.40q: %v", l, err)
			}
			if want := line(g, i); !bytes.Equal(l, want) {
				t.Fatalf("got line %q, want %q", l, want)
			}
			if i != next[g] {
				t.Fatalf("goroutine %d: got its line %d, want line %d", g, i, next[g])
			}
			next[g]++
			lines++
		}
	}
	if lines != goroutines*perG {
		t.Errorf("got %d lines, want %d", lines, goroutines*perG)
	}
}

func TestAuditWriterBatchesConcurrentWrites(t *testing.T) {
	const goroutines, perG = 32, 50
	rec := &recorder{delay: 200 * time.Microsecond}
	w := auditlog.NewWriter(rec, 0)
	writeAll(t, w, rec, goroutines, perG)
	calls := len(rec.calls())
	t.Logf("%d lines in %d writes", goroutines*perG, calls)
	if calls >= goroutines*perG/4 {
		t.Errorf("got %d writes for %d lines, want fewer than a quarter", calls, goroutines*perG)
	}
}

func TestAuditWriterBoundsBatches(t *testing.T) {
	const max = 2000
	rec := &recorder{delay: 100 * time.Microsecond}
	w := auditlog.NewWriter(rec, max)
	big := []byte(strings.Repeat("b", 3*max) + "\n")
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 5 {
			if _, err := w.Write(big); err != nil {
				t.Errorf("Write(big): %v", err)
			}
		}
	})
	writeAll(t, w, rec, 16, 40)
	wg.Wait()
	bigs := 0
	for _, call := range rec.calls() {
		switch {
		case bytes.Equal(call, big):
			bigs++
		case len(call) > max:
			t.Errorf("got a write of %d bytes, want at most %d", len(call), max)
		case bytes.Contains(call, big[:100]):
			t.Errorf("the line above max went out with others")
		}
	}
	if bigs != 5 {
		t.Errorf("the line above max went out alone %d times, want 5", bigs)
	}
}

func TestAuditWriterReportsWriteErrors(t *testing.T) {
	// Every batch holding a line with "fail" fails: its Writes return the error and
	// the others succeed, with their lines written.
	rec := &recorder{delay: 100 * time.Microsecond, fail: "fail"}
	w := auditlog.NewWriter(rec, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed, written := 0, 0
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				p := line(g, i)
				if i%7 == 3 {
					p = fmt.Appendf(nil, "g=%d i=%d fail\n", g, i)
				}
				n, err := w.Write(p)
				mu.Lock()
				switch {
				case errors.Is(err, errWrite) && n == 0:
					failed++
				case err != nil:
					t.Errorf("Write = %d, %v; want nil or %v", n, err, errWrite)
				case bytes.Contains(p, []byte("fail")):
					t.Errorf("Write(%q) returned nil; its batch cannot have been written", p)
				case !rec.contains(p):
					t.Errorf("Write(%q) returned nil; its line was not written", p)
				default:
					written++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d writes failed, %d written", failed, written)
	if failed < 16*7 {
		t.Errorf("got %d failed writes, want at least the %d lines with fail", failed, 16*7)
	}
	// The Writer goes on after a failed write.
	rec.fail = ""
	if _, err := w.Write([]byte("after\n")); err != nil || !rec.contains([]byte("after\n")) {
		t.Errorf("Write after a failed write: %v; want the line written", err)
	}
}

// gate is a writer whose Writes wait until open is closed.
type gate struct {
	open    chan struct{}
	entered chan struct{}
	rec     recorder
}

func (g *gate) Write(p []byte) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.open
	return g.rec.Write(p)
}

func TestAuditWriterCloseWaitsForWritesInProgress(t *testing.T) {
	g := &gate{open: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := auditlog.NewWriter(g, 0)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := w.Write([]byte("first\n")); err != nil {
			t.Errorf("Write(first): %v", err)
		}
	})
	<-g.entered // first is being written; the next lines wait for the next batch
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, errs[i] = w.Write(fmt.Appendf(nil, "line %d\n", i)) })
	}
	time.Sleep(20 * time.Millisecond) // let them enter

	closed := make(chan struct{})
	go func() { w.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was in progress")
	case <-time.After(20 * time.Millisecond):
	}
	close(g.open)
	<-closed
	writesAtClose := len(g.rec.calls())
	if !g.rec.contains([]byte("first\n")) {
		t.Error("the write in progress had not ended when Close returned")
	}
	wg.Wait()
	// A Write that entered before Close was written before Close returned; one that
	// came later (a slow machine) was refused.
	for i, err := range errs {
		switch l := fmt.Appendf(nil, "line %d\n", i); {
		case err == nil && !g.rec.contains(l):
			t.Errorf("Write(%q) returned nil but the line was not written", l)
		case err != nil && !errors.Is(err, auditlog.ErrClosed):
			t.Errorf("Write(%q): got %v, want nil or %v", l, err, auditlog.ErrClosed)
		}
	}
	if n := len(g.rec.calls()); n != writesAtClose {
		t.Errorf("got %d writes after Close returned, want none", n-writesAtClose)
	}
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, auditlog.ErrClosed) {
		t.Errorf("Write after Close: got %v, want %v", err, auditlog.ErrClosed)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
