package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/internal/identity"
)

type ctxKey int

const ctxRequest ctxKey = iota

// requestInfo is what the middleware learns about a request: its ID, then its caller.
// It is put in the request's context once, by withRequest; authenticate fills in the
// caller, which saves a context and a request copy per request.
type requestInfo struct {
	id        string
	caller    *caller
	principal identity.Principal
	// status is instrument's view of the response, here to save an allocation.
	status statusWriter
}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxRequest).(*requestInfo)
	return ri
}

// apiHandler adapts a handler that returns an error to http.Handler; every error
// becomes a problem response in writeError.
func (s *Server) apiHandler(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

func requestID(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// requestContext is a request's context below presignd's routers: its information
// and chi's routing context in one value, made once per request by withRequest, so
// that neither chi nor the middleware copies the request again to add its own.
type requestContext struct {
	context.Context
	info  requestInfo
	route *chi.Context
	// idHeader is the response's X-Request-Id value, kept here to save an allocation.
	idHeader [1]string
}

func (c *requestContext) Value(key any) any {
	switch key {
	case ctxRequest:
		return &c.info
	case chi.RouteCtxKey:
		return c.route
	}
	return c.Context.Value(key)
}

// routeContexts are chi's routing contexts, reused as chi itself reuses them.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// withRequest is the outermost handler of a router. It gives the request its ID (its
// X-Request-Id when short and printable, else a new one), echoed in the response, and
// its context (requestContext). It is still the router's chi.Routes, for walking.
func withRequest(mux *chi.Mux) requestRouter { return requestRouter{mux} }

type requestRouter struct{ *chi.Mux }

func (rr requestRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &requestContext{Context: r.Context(), route: routeContexts.Get().(*chi.Context)}
	rc.route.Reset()
	rc.route.Routes = rr.Mux
	id := headerValue(r.Header, "X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	rc.info.id = id
	rc.idHeader[0] = id
	w.Header()["X-Request-Id"] = rc.idHeader[:]
	rr.Mux.ServeHTTP(w, r.WithContext(rc))
	routeContexts.Put(rc.route)
}

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// newRequestID makes a random 96-bit ID in hex. An ID names a request in logs; it is
// not a secret, so the runtime's per-thread ChaCha8 generator is enough.
func newRequestID() string {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	var h [24]byte
	hex.Encode(h[:], b[:])
	return string(h[:])
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// closeWhenDraining asks clients, once presignd is draining, to close the connection
// after the response, so that none sends a request on a keep-alive connection just as
// shutdown closes it. (Server.SetKeepAlivesEnabled(false) would close idle
// connections at once, racing with requests already on their way.) It does the same
// while more connections are open than limits.close_idle_above: closing after a
// response is safer for clients than having the idle connection closed later.
func (s *Server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() || s.conns.crowded() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a 500 problem, logged and counted.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.metrics.panics.Inc()
			s.log.Error("panic in handler", "request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(w, r, s.log, errorf(CodeInternal, "an internal error occurred"))
		}()
		next.ServeHTTP(w, r)
	})
}

// instrument counts requests and their durations by route pattern, never by raw path.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &infoFrom(r.Context()).status // withRequest made it
		*sw = statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern() // chi joins the pattern anew on each call
		}
		if s.tracer != nil {
			s.nameSpan(r.Context(), r, route)
		}
		if route == "" {
			route = "unmatched"
		}
		ch := s.metrics.httpChildren(route, sw.status)
		ch.requests.Inc()
		if s.tracer != nil {
			observeWithExemplar(r.Context(), ch.duration, time.Since(start).Seconds())
		} else {
			ch.duration.Observe(time.Since(start).Seconds())
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authenticate finds the request's principal and client (identity.go) and applies
// the client's rate limit: one token per request (a batch takes the rest of its
// items' tokens itself, see handleBatch).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, c, ierr := s.state.Load().identity.identify(r)
		if ierr != nil {
			s.metrics.authFailures.WithLabelValues(string(ierr.Reason)).Inc()
			writeError(w, r, s.log, authError(ierr))
			return
		}
		if wait := c.take(); wait > 0 {
			e := rateLimited(c, wait)
			s.audit(r.Context(), c, operationOf(r), auditEntry{}, e)
			writeError(w, r, s.log, e)
			return
		}
		// withRequest, outside every router, made the request's information.
		ri := infoFrom(r.Context())
		ri.caller, ri.principal = c, p
		next.ServeHTTP(w, r)
	})
}

// take takes one token from the client's rate limit. It returns 0 when it got one,
// else how long until one is due (and takes nothing).
func (c *caller) take() time.Duration {
	if c.limiter == nil {
		return 0
	}
	res := c.limiter.Reserve()
	d := res.Delay()
	if d > 0 {
		res.Cancel()
	}
	return d
}

// rateLimited is the problem of a client over its rate limit, retry after d.
func rateLimited(c *caller, d time.Duration) *Error {
	e := errorf(CodeRateLimited, "client %s is over its rate limit; retry later", c.name)
	e.RetryAfter = int(math.Ceil(d.Seconds()))
	return e
}

// authError is the problem of a request without a principal or a client: 401, or
// 503 when the identity provider is down and no cached key can decide.
func authError(ie *identity.Error) *Error {
	if ie.Unavailable() {
		return &Error{Code: CodeIdentityUnavailable, Detail: ie.Detail, RetryAfter: 5, Cause: ie.Err}
	}
	return &Error{Code: CodeUnauthenticated, Detail: ie.Detail, Reason: string(ie.Reason), Cause: ie.Err}
}

// principalFrom is the principal authenticate found; the zero Principal before it.
func principalFrom(ctx context.Context) *identity.Principal {
	if ri := infoFrom(ctx); ri != nil {
		return &ri.principal
	}
	return &identity.Principal{}
}

func callerFrom(ctx context.Context) *caller {
	if ri := infoFrom(ctx); ri != nil {
		return ri.caller
	}
	return nil
}

// operationOf names the API operation of a request, for metrics and the audit log:
// its route pattern without "/v1/", with "_" for "/" (POST /v1/multipart/create is
// multipart_create). The routes are listed once, in routes.go.
func operationOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if strings.HasPrefix(rc.RoutePattern(), objectsPrefix) {
			return "link" // the pattern holds the bucket parameter and the wildcard
		}
		if p, ok := strings.CutPrefix(rc.RoutePattern(), "/v1/"); ok && p != "" {
			return strings.ReplaceAll(p, "/", "_")
		}
	}
	return "other"
}
