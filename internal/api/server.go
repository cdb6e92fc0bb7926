// Package api is presignd's HTTP surface: authentication, request decoding, problem
// responses, the audit log, metrics and the admin endpoints.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/origin"
	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

// Presigner is what the API needs from the signer: credentials, signing, and the
// only S3 calls presignd makes (multipart create, list, complete, abort).
type Presigner interface {
	Credentials(ctx context.Context) (aws.Credentials, error)
	Decide(ctx context.Context, decide func(expires bool, expiry time.Time) (credentialsLimited bool)) (aws.Credentials, error)
	Presign(ctx context.Context, req signer.Request) (signer.Presigned, error)
	PresignPost(ctx context.Context, req signer.PostRequest) (signer.PostPolicy, error)
	PresignParts(ctx context.Context, req signer.PartRequest) ([]signer.PartURL, time.Time, error)
	CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (string, error)
	ListParts(ctx context.Context, bucket, key, uploadID string) ([]signer.Part, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []signer.Part) (string, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
}

// Options are the Server's dependencies.
type Options struct {
	Config   *config.Config
	Signer   Presigner
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
	Build    BuildInfo
	// UploadKey authenticates multipart upload IDs; every replica needs the same one.
	// When empty, a random key is made, which only this process knows.
	UploadKey []byte
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
	state     atomic.Pointer[state]
	draining  atomic.Bool
	inFlight  atomic.Int64 // weighted /v1 requests being served
	conns     *connGuard
}

// state is everything derived from one config; a reload swaps it whole.
type state struct {
	cfg     *config.Config
	signer  Presigner
	policy  *policy.Policy
	origins origin.List // browser origins allowed to call the API
	// identity finds who calls; callers are the configured clients by name.
	identity identities
	callers  map[string]*caller
}

// caller is an authenticated client.
type caller struct {
	name    string
	limiter *rate.Limiter // nil: unlimited
	// requests caches the client's decision counters by operation and outcome.
	requests sync.Map // [2]string -> prometheus.Counter
}

// New builds a Server from a validated config.
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
	s := &Server{log: o.Logger, now: o.Now, registry: o.Registry, uploadKey: o.UploadKey}
	m, err := newMetrics(o.Registry, o.Build)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.conns = newConnGuard(func() (int, int) {
		cfg := s.state.Load().cfg
		return cfg.MaxConnections(), cfg.CloseIdleAbove()
	}, m.idleClosed.Inc)
	if err := m.registerLoad(o.Registry, s.inFlight.Load, s.conns.Open); err != nil {
		return nil, err
	}
	if err := s.SetConfig(o.Config, o.Signer); err != nil {
		return nil, err
	}
	return s, nil
}

// SetConfig replaces the config, and the signer when sg is not nil, atomically.
// Requests in flight finish on the old ones. Rate limiters of clients that keep the
// same limits keep their state.
func (s *Server) SetConfig(cfg *config.Config, sg Presigner) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	old := s.state.Load()
	if sg == nil {
		if old == nil {
			return errors.New("no signer")
		}
		sg = old.signer
	}
	pol, err := cfg.Policy()
	if err != nil {
		return err
	}
	origins, err := origin.ParseList(cfg.CORS.AllowedOrigins)
	if err != nil {
		return err
	}
	st := &state{cfg: cfg, signer: sg, policy: pol, origins: origins, callers: map[string]*caller{}}
	tokens := staticTokens{}
	for _, cl := range cfg.Clients {
		var h [sha256.Size]byte
		if _, err := hex.Decode(h[:], []byte(cl.TokenSHA256.Reveal())); err != nil {
			return fmt.Errorf("client %s: token_sha256 is not hex", cl.Name)
		}
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
		tokens[h] = c
		st.callers[cl.Name] = c
	}
	st.identity = identities{tokens}
	s.state.Store(st)
	s.metrics.setClients(pol.ClientNames())
	return nil
}

// Config returns the config in force.
func (s *Server) Config() *config.Config { return s.state.Load().cfg }

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
func (s *Server) credentials(ctx context.Context) (aws.Credentials, error) {
	c, err := s.state.Load().signer.Credentials(ctx)
	if err != nil {
		return c, err
	}
	s.metrics.credentialsExpiry(c)
	return c, nil
}
