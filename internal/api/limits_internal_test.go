package api

import (
	"net"
	"testing"
	"time"
)

// TestTrimAfterSurge checks when memory is returned after a surge: once the open
// connections fall to a quarter of a peak of at least trimMinConnections, and not
// again within trimEvery.
func TestTrimAfterSurge(t *testing.T) {
	trims := make(chan int, 8)
	now := time.Unix(1_000_000, 0)
	g := newConnGuard(func() (int, int) { return 10_000, 10_000 }, nil)
	g.now = func() time.Time { return now }
	g.trim, g.trimDelay = func() { trims <- 1 }, 0

	open := func(n int) []*trackedConn {
		conns := make([]*trackedConn, n)
		for i := range conns {
			if !g.admit(nil) {
				t.Fatal("admit refused a connection below max_connections")
			}
			a, b := net.Pipe()
			t.Cleanup(func() { b.Close() })
			conns[i] = &trackedConn{Conn: a, g: g}
		}
		return conns
	}
	noTrim := func(when string) {
		t.Helper()
		select {
		case <-trims:
			t.Errorf("memory was trimmed %s", when)
		default:
		}
	}

	// A small peak never trims.
	small := open(trimMinConnections - 1)
	for _, c := range small {
		c.Close()
	}
	noTrim("after a peak below trimMinConnections")

	conns := open(400)
	for _, c := range conns[:299] {
		c.Close()
	}
	noTrim("at 101 of a peak of 400")
	conns[299].Close() // 100 open: a quarter of the peak
	<-trims
	if got := g.Open(); got != 100 {
		t.Errorf("open connections: got %d, want 100", got)
	}

	// A second surge within trimEvery does not trim again; after it, it does.
	more := open(300)
	for _, c := range more {
		c.Close()
	}
	noTrim("twice within trimEvery")
	now = now.Add(trimEvery)
	more = open(300)
	for _, c := range append(more, conns[300:]...) {
		c.Close()
	}
	<-trims
}
