package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/internal/identity"
)

type ctxKey int

const ctxRequest ctxKey = iota

// requestInfo is what the middleware learns about a request: its ID, then its caller.
// It is put in the request's context once, by requestID; authenticate fills in the
// caller, which saves a context and a request copy per request.
type requestInfo struct {
	id        string
	caller    *caller
	principal identity.Principal
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

// requestID takes X-Request-Id when it is short and printable, else makes one, and
// echoes it in the response.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequest, &requestInfo{id: id})))
	})
}

// newRequestID makes a random 96-bit ID in hex.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
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
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
			if s.tracer != nil {
				s.nameSpan(r.Context(), r.Method, route)
			}
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
		if ri := infoFrom(r.Context()); ri != nil {
			ri.caller, ri.principal = c, p
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequest, &requestInfo{caller: c, principal: p})))
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
