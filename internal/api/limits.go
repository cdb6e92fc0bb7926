package api

import (
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// What a surge of callers can make presignd hold is bounded by the config's limits
// block: requests in flight (over the bound: 503 overloaded, at once, before any
// work), open connections of the API listener (at the bound, new ones wait in the
// kernel's accept queue), and idle keep-alive connections (above close_idle_above
// open connections, the longest idle are closed and responses ask clients to close).
// Each connection costs memory whether it is used or not: net/http's read and write
// buffers (8 KiB) and its goroutine's stack, which keeps the size it grew to while
// serving (about 13 KiB after a presign) until a collection shrinks it. Running each
// request on a goroutine of its own would free that stack with the request (9 KiB a
// connection), but costs about 18 us of CPU a request (stack growth on every new
// goroutine; make loadtest: 0.54x against 0.66x of the fixed-JSON server): the
// connection bounds are the cheaper guard.

// batchWeight is what one batch counts for against limits.max_in_flight: its body
// may be 16 times as large as a single request's (1 MiB against 64 KiB).
const batchWeight = 16

// limitInFlight answers 503 overloaded, with Retry-After, when serving the request
// would put more than limits.max_in_flight requests in flight.
func (s *Server) limitInFlight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(s.state.Load().limits.MaxInFlight)
		weight := int64(1)
		if r.URL.Path == "/v1/presign/batch" {
			weight = min(batchWeight, limit)
		}
		if s.inFlight.Add(weight) > limit {
			s.inFlight.Add(-weight)
			s.metrics.shed.Inc()
			e := errorf(CodeOverloaded, "presignd is serving as many requests as it may at once; retry after the Retry-After delay")
			e.RetryAfter = 1
			writeError(w, r, s.log, e)
			return
		}
		defer s.inFlight.Add(-weight)
		next.ServeHTTP(w, r)
	})
}

// Trimming memory after a surge: once the open connections fall to a quarter of
// their peak, and the peak was at least trimMinConnections, the heap is collected
// and freed memory returned to the operating system trimDelay later (clients of a
// surge tend to leave together), at most once per trimEvery. Without it, the runtime
// keeps the memory of a past surge mapped for minutes.
const (
	trimMinConnections = 256
	trimEvery          = 10 * time.Second
	trimDelay          = time.Second
)

// trimMemory collects twice, since sync.Pool (where net/http keeps the buffers of
// closed connections) empties only on the second collection, then returns the freed
// memory to the operating system.
func trimMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// connGuard tracks the connections of the API listener: how many are open and
// which are idle, oldest first.
type connGuard struct {
	// limits returns max_connections and close_idle_above of the config in force.
	limits func() (maxConns, closeIdleAbove int)
	// closedIdle counts idle connections closed to keep within the limits.
	closedIdle func()
	// trim returns memory to the operating system after a surge.
	trim      func()
	trimDelay time.Duration
	now       func() time.Time

	// openNow is open, for readers that take no lock (every request asks crowded).
	openNow atomic.Int64

	mu       sync.Mutex
	open     int
	idle     idleList
	waiting  bool // Accept holds a connection until there is room for it
	peak     int  // most connections open since the last trim
	lastTrim time.Time
	freed    chan struct{} // a connection closed; capacity 1
}

func newConnGuard(limits func() (int, int), closedIdle func()) *connGuard {
	return &connGuard{
		limits:     limits,
		closedIdle: closedIdle,
		trim:       trimMemory,
		trimDelay:  trimDelay,
		now:        time.Now,
		freed:      make(chan struct{}, 1),
	}
}

// Open is the number of open connections.
func (g *connGuard) Open() int { return int(g.openNow.Load()) }

// crowded reports whether more connections are open than close_idle_above.
func (g *connGuard) crowded() bool {
	_, above := g.limits()
	return g.openNow.Load() > int64(above)
}

// admit waits until a new connection fits within max_connections, closing idle
// connections to make room, and counts it. It fails once done is closed.
func (g *connGuard) admit(done <-chan struct{}) bool {
	for {
		maxConns, _ := g.limits()
		g.mu.Lock()
		if g.open < maxConns {
			g.open++
			g.openNow.Store(int64(g.open))
			g.peak = max(g.peak, g.open)
			g.waiting = false
			g.mu.Unlock()
			return true
		}
		victim := g.idle.popOldest()
		g.waiting = victim == nil
		g.mu.Unlock()
		if victim != nil {
			g.closeIdle(victim)
			continue
		}
		select {
		case <-g.freed:
		case <-done:
			g.mu.Lock()
			g.waiting = false
			g.mu.Unlock()
			return false
		}
	}
}

// reapIdle closes idle connections, longest idle first, while more are open than
// close_idle_above, and one more when Accept is waiting for room.
func (g *connGuard) reapIdle() {
	_, above := g.limits()
	var victims []*trackedConn
	g.mu.Lock()
	for g.open-len(victims) > above || g.waiting && len(victims) == 0 {
		v := g.idle.popOldest()
		if v == nil {
			break
		}
		victims = append(victims, v)
	}
	g.mu.Unlock()
	for _, v := range victims {
		g.closeIdle(v)
	}
}

func (g *connGuard) closeIdle(c *trackedConn) {
	_ = c.Close()
	if g.closedIdle != nil {
		g.closedIdle()
	}
}

// released is called once for every connection that closes.
func (g *connGuard) released(c *trackedConn) {
	g.mu.Lock()
	g.idle.remove(c)
	g.open--
	g.openNow.Store(int64(g.open))
	trim := false
	if g.peak >= trimMinConnections && g.open <= g.peak/4 && g.now().Sub(g.lastTrim) >= trimEvery {
		trim = true
		g.peak, g.lastTrim = g.open, g.now()
	}
	g.mu.Unlock()
	select {
	case g.freed <- struct{}{}:
	default:
	}
	if trim && g.trim != nil {
		time.AfterFunc(g.trimDelay, g.trim)
	}
}

// state follows a connection's state changes, from http.Server.ConnState.
func (g *connGuard) state(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*trackedConn)
	if !ok || c.g != g {
		return
	}
	switch st {
	case http.StateIdle:
		g.mu.Lock()
		if !c.closed {
			g.idle.pushNewest(c)
		}
		g.mu.Unlock()
		g.reapIdle()
	case http.StateActive, http.StateHijacked, http.StateClosed:
		g.mu.Lock()
		g.idle.remove(c)
		g.mu.Unlock()
	}
}

// trackedConn is a connection of the guarded listener.
type trackedConn struct {
	net.Conn
	g          *connGuard
	once       sync.Once
	closed     bool // under g.mu
	prev, next *trackedConn
	inList     bool
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.g.mu.Lock()
		c.closed = true
		c.g.mu.Unlock()
		c.g.released(c)
	})
	return err
}

// idleList is the idle connections, oldest first.
type idleList struct{ head, tail *trackedConn }

func (l *idleList) pushNewest(c *trackedConn) {
	if c.inList {
		l.remove(c)
	}
	c.prev, c.next, c.inList = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *idleList) remove(c *trackedConn) {
	if !c.inList {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.inList = nil, nil, false
}

func (l *idleList) popOldest() *trackedConn {
	c := l.head
	if c != nil {
		l.remove(c)
	}
	return c
}

// guardedListener bounds and tracks the connections it accepts.
type guardedListener struct {
	net.Listener
	g         *connGuard
	done      chan struct{}
	closeOnce sync.Once
}

func (l *guardedListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.g.admit(l.done) {
		nc.Close()
		return nil, net.ErrClosed
	}
	l.g.reapIdle()
	return &trackedConn{Conn: nc, g: l.g}, nil
}

func (l *guardedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// GuardListener wraps the API listener so that its connections are bounded by
// limits.max_connections and idle ones are closed above limits.close_idle_above. The
// http.Server serving it must have ConnState set to the Server's ConnState. One
// listener per Server.
func (s *Server) GuardListener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, g: s.conns, done: make(chan struct{})}
}

// ConnState is the http.Server.ConnState hook of the guarded listener's server.
func (s *Server) ConnState(c net.Conn, st http.ConnState) { s.conns.state(c, st) }
