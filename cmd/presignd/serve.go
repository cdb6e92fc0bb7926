package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/app"
	"github.com/presignd/presignd/internal/auditlog"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/tracing"
	"github.com/presignd/presignd/internal/ui"
)

// The AWS documentation's example key pair, used only by serve --dev when the
// credential chain finds nothing, so that URLs can be issued on a bare machine.
const (
	exampleAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	exampleSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := fs.String("config", getenv("PRESIGND_CONFIG"), "config `file` (env PRESIGND_CONFIG)")
	listen := fs.String("listen", "", "listen `address`, overriding the config's listen")
	dev := fs.Bool("dev", false, "run on the embedded development config")
	profiling := fs.Bool("pprof", false, "serve Go's profiles under /debug/pprof/ on admin_listen (which must be set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Log lines, the audit lines among them, are written with group commit: a request
	// still waits for its own line to be written, but concurrent requests share one
	// write.
	logOut := auditlog.NewWriter(stderr, 0)
	log := slog.New(auditlog.NewHandler(logOut, nil))
	if getenv("GOGC") == "" {
		// The heap stays small (about 25 MiB under full load); trading a few MiB for
		// half the collections is worth about 10% of throughput.
		debug.SetGCPercent(200)
	}

	cfg, err := loadServeConfig(fs, *path, *listen, *dev, getenv)
	if err != nil {
		return err
	}
	if *profiling && cfg.AdminListen == "" {
		return errors.New("--pprof needs admin_listen in the config: profiles are never served on the API listener")
	}
	// Traces, when the OTEL_* environment says where to send them (internal/tracing).
	tr, err := tracing.From(ctx, getenv, buildVersion(), log)
	if err != nil {
		return err
	}
	// On the way out of a failure; the normal path exports before closing the log.
	defer shutdownTracing(tr, log)
	if *dev {
		log.Warn("running on the development config: token dev-token grants every method on bucket "+cfg.Clients[0].Grants[0].Bucket+
			"; browser pages may call it only from loopback origins; never use this in production",
			"allowed_origins", strings.Join(cfg.CORS.AllowedOrigins, " "))
	}

	setMemoryLimit(getenv, hostCgroups, log)

	parts, err := build(ctx, cfg, nil, *dev, log)
	if err != nil {
		return err
	}
	srv, err := newAPIServer(parts, *dev, getenv, tr, log)
	if err != nil {
		return err
	}

	// Catch signals before saying "listening", so that none sent from then on is lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	var tlsNow atomic.Pointer[tls.Config] // read by handshakes, replaced by reloads
	tlsNow.Store(parts.tls)
	l, err := openListeners(cfg, srv, tlsNow.Load, *profiling, log)
	if err != nil {
		return err
	}
	errc := make(chan error, len(l.servers))
	for i, hs := range l.servers {
		go func() { errc <- hs.Serve(l.listeners[i]) }()
	}
	log.Info("listening", "addr", l.addr, "admin_addr", l.adminAddr, "tls", cfg.TLS != nil, "version", buildVersion(),
		"max_connections", cfg.MaxConnections(), "close_idle_above", cfg.CloseIdleAbove(), "max_in_flight", cfg.MaxInFlight())

	onHangup := func() { parts = reload(ctx, srv, parts, &tlsNow, *path, *dev, *listen, log) }
	if err := waitForStop(ctx, sigs, errc, onHangup, log); err != nil {
		return err
	}
	if err := drain(srv, parts.cfg, l.servers, log); err != nil {
		// Requests still in flight keep writing their lines until the process exits.
		return err
	}
	shutdownTracing(tr, log)
	return logOut.Close()
}

// loadServeConfig loads the config serve runs on: the embedded development config with
// dev, else the file at path, with its listen address replaced by listen when set.
func loadServeConfig(fs *flag.FlagSet, path, listen string, dev bool, getenv func(string) string) (*config.Config, error) {
	var (
		cfg *config.Config
		err error
	)
	explicitConfig := false
	fs.Visit(func(f *flag.Flag) { explicitConfig = explicitConfig || f.Name == "config" })
	switch {
	case dev && explicitConfig:
		return nil, errors.New("--dev and --config cannot be used together")
	case dev:
		cfg, err = config.Dev(getenv)
	case path == "":
		return nil, errors.New("no config file given; pass --config FILE, set PRESIGND_CONFIG, or use --dev")
	default:
		cfg, err = config.Load(path)
	}
	if err != nil {
		return nil, err
	}
	if listen != "" {
		cfg.Listen = listen
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// newAPIServer makes the API server over the running parts, with its own metrics
// registry, and records the first load as a successful reload. In dev mode only, the
// share page is given the development token, so that it works without asking.
func newAPIServer(parts *running, dev bool, getenv func(string) string, tr *tracing.Tracing, log *slog.Logger) (*api.Server, error) {
	uploadKey, err := uploadKeyFrom(getenv, log)
	if err != nil {
		return nil, err
	}
	var page ui.Options
	if dev {
		page.DevToken = config.DevToken
	}
	reg := prometheus.NewRegistry()
	o := api.Options{
		Runtime: parts.rt, Logger: log, Registry: reg, UploadKey: uploadKey,
		Build: api.BuildInfo{Version: buildVersion(), Revision: buildRevision(), GoVersion: runtime.Version()},
		UI:    page,
	}
	if tr != nil {
		o.Tracer, o.Propagator = tr.Provider, tr.Propagator
	}
	srv, err := api.New(o)
	if err != nil {
		return nil, err
	}
	srv.ReloadResult(true)
	return srv, nil
}

// shutdownTracing exports the spans still buffered, within a bound of its own: a
// collector that is down must not hold up the exit.
func shutdownTracing(tr *tracing.Tracing, log *slog.Logger) {
	if tr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		log.Warn("the last spans were not exported", "error", err.Error())
	}
}

// listening is the servers serve runs, each with its listener, and the addresses
// they listen on.
type listening struct {
	servers         []*http.Server
	listeners       []net.Listener
	addr, adminAddr string
}

// openListeners opens the API listener and, when the config has an admin_listen, the admin
// listener, and makes the server of each. Without an admin listener, the admin
// endpoints are served on the API address.
func openListeners(cfg *config.Config, srv *api.Server, currentTLS func() *tls.Config, profiling bool, log *slog.Logger) (*listening, error) {
	apiLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.Listen, err)
	}
	// The API listener's connections are bounded and tracked (limits in the config).
	apiServer := newHTTPServer(srv.Handler(cfg.AdminListen == ""), log)
	apiServer.ConnState = srv.ConnState
	guarded := srv.GuardListener(apiLn)
	if cfg.TLS != nil {
		guarded = tls.NewListener(guarded, listenerTLS(currentTLS))
	}
	l := &listening{
		servers:   []*http.Server{apiServer},
		listeners: []net.Listener{guarded},
		addr:      apiLn.Addr().String(),
		adminAddr: apiLn.Addr().String(),
	}
	if cfg.AdminListen != "" {
		adminLn, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			apiLn.Close()
			return nil, fmt.Errorf("cannot listen on %s: %w", cfg.AdminListen, err)
		}
		admin := srv.AdminHandler()
		if profiling {
			admin = withProfiling(admin)
		}
		l.servers = append(l.servers, newHTTPServer(admin, log))
		l.listeners = append(l.listeners, adminLn)
		l.adminAddr = adminLn.Addr().String()
	}
	return l, nil
}

// waitForStop calls onHangup for each SIGHUP until a SIGTERM or SIGINT arrives or ctx
// is done, and then returns nil; it returns an error if a server stops first.
func waitForStop(ctx context.Context, sigs <-chan os.Signal, errc <-chan error, onHangup func(), log *slog.Logger) error {
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				onHangup()
				continue
			}
			log.Info("signal received, draining", "signal", sig.String())
		case <-ctx.Done():
			log.Info("stopping, draining")
		case err := <-errc:
			return fmt.Errorf("the server stopped: %w", err)
		}
		return nil
	}
}

// drain turns /readyz to 503 and keeps serving for the drain delay, so load balancers
// stop sending; then it closes the listeners and waits for in-flight requests.
func drain(srv *api.Server, cfg *config.Config, servers []*http.Server, log *slog.Logger) error {
	srv.Drain() // from now on, responses also close their connections
	log.Info("draining: /readyz answers 503, still serving", "drain_delay", cfg.DrainDelay().String())
	time.Sleep(cfg.DrainDelay())
	log.Info("closing listeners", "grace", cfg.ShutdownGrace().String())
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace())
	defer cancel()
	var firstErr error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("in-flight requests did not finish within %s: %w", cfg.ShutdownGrace(), err)
		}
	}
	if firstErr != nil {
		return firstErr
	}
	log.Info("stopped")
	return nil
}

// reload validates the whole file and builds its running parts before anything
// changes; on any error the old config keeps serving.
// It returns the parts in force afterwards.
func reload(ctx context.Context, srv *api.Server, cur *running, tlsNow *atomic.Pointer[tls.Config], path string, dev bool, listen string, log *slog.Logger) *running {
	if dev || path == "" {
		log.Warn("reload ignored: the development config has no file to reload")
		return cur
	}
	cfg, err := config.Load(path)
	if err == nil && listen != "" {
		cfg.Listen = listen
	}
	var parts *running
	if err == nil {
		parts, err = build(ctx, cfg, cur, dev, log)
	}
	if err == nil {
		// The listener's TLS config first: once the reload is reported, new connections
		// are checked against the new client CAs.
		tlsNow.Store(parts.tls)
		if err = srv.SetRuntime(parts.rt); err != nil {
			tlsNow.Store(cur.tls)
		}
	}
	if err != nil {
		srv.ReloadResult(false)
		log.Error("config reload failed; the previous config keeps serving", "error", err.Error())
		return cur
	}
	srv.ReloadResult(true)
	log.Info("config reloaded", "clients", len(cfg.Clients))
	return parts
}

// running is what a config becomes: the config and the signer for its targets. Start
// and reload both make it with build.
type running struct {
	cfg    *config.Config
	signer *s3signer.Signer
	rt     api.Runtime // what the API serves with
	// tls is the API listener's TLS config (certificate, client CAs), nil without tls.
	tls *tls.Config
}

// build makes the running parts of a loaded config. prev, when not nil, is what
// serves now: its listeners stay (listen and admin_listen take effect on restart), and
// its signer is kept when every bucket resolves to the same target, so that cached
// credentials and signing keys survive a reload. In dev mode only, a new signer falls
// back to the example key pair when the credential chain finds nothing.
func build(ctx context.Context, cfg *config.Config, prev *running, dev bool, log *slog.Logger) (*running, error) {
	if prev == nil {
		sg, err := newSigner(ctx, cfg, dev, log)
		if err != nil {
			return nil, err
		}
		return assemble(cfg, sg, &running{})
	}
	if cfg.Listen != prev.cfg.Listen || cfg.AdminListen != prev.cfg.AdminListen {
		log.Warn("listen and admin_listen changes take effect on restart; the current listeners keep serving")
		cfg.Listen, cfg.AdminListen = prev.cfg.Listen, prev.cfg.AdminListen
	}
	if (cfg.TLS == nil) != (prev.cfg.TLS == nil) {
		log.Warn("turning tls on or off takes effect on restart; the current listener keeps serving as it does")
		cfg.TLS = prev.cfg.TLS
	}
	if sameTargets(signerConfig(cfg), signerConfig(prev.cfg)) {
		return assemble(cfg, prev.signer, prev)
	}
	sg, err := newSigner(ctx, cfg, dev, log)
	if err != nil {
		return nil, err
	}
	return assemble(cfg, sg, prev)
}

// assemble makes the running parts with signer sg; prev is what serves now (the zero
// running at start), whose JWT issuers are kept where unchanged.
func assemble(cfg *config.Config, sg *s3signer.Signer, prev *running) (*running, error) {
	rt, err := app.Runtime(cfg, sg, prev.rt)
	if err != nil {
		return nil, err
	}
	tc, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	return &running{cfg: cfg, signer: sg, rt: rt, tls: tc}, nil
}

// sameTargets reports whether two signer configs sign every bucket alike and call
// S3 with the same timeout.
func sameTargets(a, b s3signer.Config) bool {
	return a.Default == b.Default && a.Profile == b.Profile && maps.Equal(a.Buckets, b.Buckets) && a.CallTimeout == b.CallTimeout
}

// newHTTPServer serves h with the timeouts of config. The S3 calls of a request give
// up well before WriteTimeout (config.MaxS3CallTimeout), so that their 504 problem
// gets written.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: config.ReadHeaderTimeout,
		ReadTimeout:       config.ReadTimeout,
		WriteTimeout:      config.WriteTimeout,
		IdleTimeout:       config.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// newSigner builds the signer for a config. In dev mode only, when the credential
// chain finds nothing, it signs with the AWS documentation example key pair.
func newSigner(ctx context.Context, cfg *config.Config, dev bool, log *slog.Logger) (*s3signer.Signer, error) {
	sc := signerConfig(cfg)
	sg, err := s3signer.New(ctx, sc)
	if err != nil || !dev {
		return sg, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := sg.Credentials(cctx); err == nil {
		return sg, nil
	}
	log.Warn("NO AWS CREDENTIALS FOUND: --dev is signing with the AWS documentation example key pair " +
		exampleAccessKeyID + "; URLs will only work against a local S3-compatible server configured with that key pair")
	sc.Credentials = s3signer.StaticCredentials(exampleAccessKeyID, exampleSecretAccessKey)
	return s3signer.New(ctx, sc)
}

// signerConfig resolves each bucket's complete target from the s3 block and its overrides.
func signerConfig(cfg *config.Config) s3signer.Config {
	def := s3signer.Target{
		Region:         cfg.S3.Region,
		Endpoint:       cfg.S3.Endpoint,
		PublicEndpoint: cfg.S3.PublicEndpoint,
		PathStyle:      cfg.S3.PathStyle,
	}
	sc := s3signer.Config{Default: def, Profile: cfg.S3.Profile, Buckets: map[string]s3signer.Target{}, CallTimeout: cfg.S3CallTimeout()}
	for name, b := range cfg.Buckets {
		t := def
		if b.Region != "" {
			t.Region = b.Region
		}
		if b.Endpoint != "" {
			t.Endpoint = b.Endpoint
			t.PublicEndpoint = ""
		}
		if b.PublicEndpoint != "" {
			t.PublicEndpoint = b.PublicEndpoint
		}
		if b.PathStyle != nil {
			t.PathStyle = *b.PathStyle
		}
		sc.Buckets[name] = t
	}
	return sc
}

// uploadKeyFrom derives the key that authenticates multipart upload IDs from
// PRESIGND_UPLOAD_KEY, which every replica must share. Without it, each process makes
// its own, and an upload must be completed by the process that created it.
func uploadKeyFrom(getenv func(string) string, log *slog.Logger) ([]byte, error) {
	v := getenv("PRESIGND_UPLOAD_KEY")
	if v == "" {
		log.Info("PRESIGND_UPLOAD_KEY is not set: multipart upload IDs are valid on this process only")
		return nil, nil
	}
	if len(v) < 32 {
		return nil, errors.New("PRESIGND_UPLOAD_KEY must be at least 32 characters (presignd gen-token makes one)")
	}
	sum := sha256.Sum256([]byte("presignd upload key\x00" + v))
	return sum[:], nil
}
