// Package api is presignd's HTTP surface: authentication, request decoding, problem
// responses, the audit log, metrics and the admin endpoints.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/origin"
	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/ui"
)

// Presigner is what the API needs from the signer: a credentials snapshot to decide
// on and sign with, signing, and the only S3 calls presignd makes.
type Presigner interface {
	credentialSource
	urlSigner
	multipartCalls
}

// credentialSource hands out snapshots of the signing credentials. Decide runs decide
// against a snapshot's expiry, refreshes once when decide says the credentials limited
// it, and returns the snapshot the last decision was made about.
type credentialSource interface {
	Credentials(ctx context.Context) (signer.Credentials, error)
	Decide(ctx context.Context, decide func(expires bool, expiry time.Time) (credentialsLimited bool)) (signer.Credentials, error)
}

// urlSigner signs; it makes no network call.
type urlSigner interface {
	Presign(ctx context.Context, req signer.Request) (signer.Presigned, error)
	PresignPost(ctx context.Context, req signer.PostRequest) (signer.PostPolicy, error)
	PresignParts(ctx context.Context, req signer.PartRequest) ([]signer.PartURL, time.Time, error)
	PresignUploadCall(ctx context.Context, req signer.UploadCallRequest) (signer.Presigned, error)
}

// multipartCalls are presignd's own calls to S3; they fail with *signer.S3Error.
type multipartCalls interface {
	CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (string, error)
	ListParts(ctx context.Context, bucket, key, uploadID string) ([]signer.Part, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []signer.Part) (string, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
}

// Options are the Server's dependencies.
type Options struct {
	// Runtime is what the first config became (internal/app assembles it).
	Runtime  Runtime
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
	Build    BuildInfo
	// UploadKey authenticates multipart upload IDs; every replica needs the same one.
	// When empty, a random key is made, which only this process knows.
	UploadKey []byte
	// UI configures the share page at /ui/; only serve --dev gives it a token.
	UI ui.Options
	// Tracer, when set, traces the requests of the API routes (never the admin
	// routes): spans named by route pattern, trace context taken from incoming
	// requests by Propagator, the trace ID in audit lines and exemplars on the HTTP
	// latency histogram. When nil, nothing of this runs.
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator
}

// Runtime is everything the API serves with that comes from one config: a reload
// replaces it whole (SetRuntime). It is built and validated before it gets here.
type Runtime struct {
	Policy *policy.Policy
	// Clients are the configured clients, in file order.
	Clients []Client
	// Origins are the browser origins allowed to call the API.
	Origins origin.List
	Limits  Limits
	// Signer signs and makes presignd's S3 calls; SetRuntime keeps the one in force
	// when it is nil.
	Signer Presigner
	// Identity is how principals are found beside static tokens.
	Identity Identity
	// S3Timeout bounds the S3 calls one request makes, all of them together; zero
	// means signer.DefaultCallTimeout. It must leave the request time to write its
	// answer before the HTTP server's write timeout (config.MaxS3CallTimeout).
	S3Timeout time.Duration
}

// Client is a configured client: its name, the SHA-256 of its bearer token (when
// HasToken), the principals that are it, and its rate limit.
type Client struct {
	Name        string
	HasToken    bool
	TokenSHA256 [sha256.Size]byte
	Match       []identity.Match
	// RateLimit is nil for a client without one.
	RateLimit *RateLimit
}

// RateLimit is a token bucket: RPS tokens a second, up to Burst at once.
type RateLimit struct {
	RPS   float64
	Burst int
}

// Limits bound what a surge of callers can make presignd hold (limits.go).
type Limits struct {
	MaxConnections, CloseIdleAbove, MaxInFlight int
}

// BuildInfo describes the running binary.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// Server serves the API and the admin endpoints.
type Server struct {
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics
	registry  *prometheus.Registry
	uploadKey []byte
	uploads   uploadCache
	state     atomic.Pointer[state]
	draining  atomic.Bool
	inFlight  atomic.Int64 // weighted /v1 requests being served
	conns     *connGuard
	ui        http.Handler // the share page (internal/ui)
	// tracer and propagator are set when requests are traced (Options.Tracer).
	tracer     trace.TracerProvider
	propagator propagation.TextMapPropagator
}

// state is everything derived from one config; a reload swaps it whole.
type state struct {
	limits Limits
	// s3Timeout bounds the S3 calls of one request (Runtime.S3Timeout).
	s3Timeout time.Duration
	signer    Presigner
	policy    *policy.Policy
	origins   origin.List // browser origins allowed to call the API
	// identity finds who calls; callers are the configured clients by name.
	identity *identifier
	callers  map[string]*caller
}

// caller is an authenticated client.
type caller struct {
	name    string
	limiter *rate.Limiter // nil: unlimited
	// requests caches the client's decision counters by operation and outcome.
	requests sync.Map // [2]string -> prometheus.Counter
}

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if len(o.UploadKey) == 0 {
		o.UploadKey = make([]byte, 32)
		if _, err := rand.Read(o.UploadKey); err != nil {
			return nil, err
		}
	}
	s := &Server{log: o.Logger, now: o.Now, registry: o.Registry, uploadKey: o.UploadKey, ui: ui.Handler(o.UI), tracer: o.Tracer}
	if s.tracer != nil {
		s.propagator = o.Propagator
		if s.propagator == nil {
			s.propagator = propagation.TraceContext{}
		}
	}
	m, err := newMetrics(o.Registry, o.Build)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.conns = newConnGuard(func() (int, int) {
		l := s.state.Load().limits
		return l.MaxConnections, l.CloseIdleAbove
	}, m.idleClosed.Inc)
	if err := m.registerLoad(o.Registry, s.inFlight.Load, s.conns.Open); err != nil {
		return nil, err
	}
	if err := s.SetRuntime(o.Runtime); err != nil {
		return nil, err
	}
	return s, nil
}

// SetRuntime replaces what the API serves with, atomically; the signer only when
// rt.Signer is not nil. Requests in flight finish on the old runtime. Rate limiters of
// clients that keep the same limits keep their state.
func (s *Server) SetRuntime(rt Runtime) error {
	old := s.state.Load()
	sg := rt.Signer
	if sg == nil {
		if old == nil {
			return errors.New("no signer")
		}
		sg = old.signer
	} else if s.tracer != nil {
		sg = tracedS3{Presigner: sg, tracer: s.tracer.Tracer(tracerName)}
	}
	if rt.Policy == nil {
		return errors.New("no policy")
	}
	s3Timeout := rt.S3Timeout
	if s3Timeout <= 0 {
		s3Timeout = signer.DefaultCallTimeout
	}
	st := &state{limits: rt.Limits, s3Timeout: s3Timeout, signer: sg, policy: rt.Policy, origins: rt.Origins, callers: map[string]*caller{}}
	id := &identifier{tokens: map[[sha256.Size]byte]*caller{}, id: rt.Identity}
	for _, cl := range rt.Clients {
		c := &caller{name: cl.Name}
		if rl := cl.RateLimit; rl != nil {
			c.limiter = rate.NewLimiter(rate.Limit(rl.RPS), rl.Burst)
			if old != nil {
				if prev, ok := old.callers[cl.Name]; ok && prev.limiter != nil &&
					prev.limiter.Limit() == c.limiter.Limit() && prev.limiter.Burst() == c.limiter.Burst() {
					c.limiter = prev.limiter
				}
			}
		}
		if cl.HasToken {
			id.tokens[cl.TokenSHA256] = c
		}
		for _, m := range cl.Match {
			id.matches = append(id.matches, clientMatch{match: m, caller: c})
		}
		st.callers[cl.Name] = c
	}
	st.identity = id
	s.state.Store(st)
	s.metrics.setClients(rt.Policy.ClientNames())
	return nil
}

// Drain makes /readyz answer 503 from now on; requests are still served.
func (s *Server) Drain() { s.draining.Store(true) }

// ReloadResult records a reload attempt in the metrics.
func (s *Server) ReloadResult(ok bool) { s.metrics.reloaded(ok, s.now()) }

// Ready reports why presignd cannot serve, or nil.
func (s *Server) Ready(ctx context.Context) error {
	switch {
	case s.draining.Load():
		return errors.New("draining")
	case s.state.Load() == nil:
		return errors.New("no config loaded")
	}
	if _, err := s.credentials(ctx); err != nil {
		return err
	}
	return nil
}

// credentials retrieves the signing credentials and records their expiry.
func (s *Server) credentials(ctx context.Context) (signer.Credentials, error) {
	c, err := s.state.Load().signer.Credentials(ctx)
	if err != nil {
		return c, err
	}
	s.metrics.credentialsExpiry(c)
	return c, nil
}
