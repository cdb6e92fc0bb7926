package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/signer"
)

// Outcomes of a presign decision, as metrics and the audit log report them.
const (
	outcomeIssued      = "issued"
	outcomeDenied      = "denied"
	outcomeInvalid     = "invalid"
	outcomeRateLimited = "rate_limited"
	outcomeError       = "error"
)

type metrics struct {
	requests     *prometheus.CounterVec
	duration     prometheus.Histogram
	ttlCapped    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	credsExpiry  prometheus.Gauge
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	panics       prometheus.Counter
	shed         prometheus.Counter
	idleClosed   prometheus.Counter
	mu           sync.Mutex
	clients      map[string]bool
	// httpSeries caches the children of the HTTP metrics by route pattern and status
	// code, so that a request hashes no label values. Both sets are small and fixed.
	httpSeries sync.Map // httpKey -> *httpChildren
}

type httpKey struct {
	route string
	code  int
}

type httpChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, b BuildInfo) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presignd_presign_requests_total",
			Help: "Presign decisions by client, operation and outcome (issued, denied, invalid, rate_limited, error).",
		}, []string{"client", "operation", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "presignd_presign_duration_seconds",
			Help:    "Time spent deciding and signing one URL.",
			Buckets: []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1},
		}),
		ttlCapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presignd_ttl_capped_total",
			Help: "Issued URLs whose lifetime was capped, by the binding limit (policy, s3_max, credentials).",
		}, []string{"cause"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presignd_auth_failures_total",
			Help: "Requests without a caller, by reason: the 401 reasons (missing, malformed, unknown_token, bad_token, bad_algorithm, bad_signature, unknown_key, bad_issuer, bad_audience, expired, not_yet_valid, bad_certificate, no_client) and issuer_unavailable (503).",
		}, []string{"reason"}),
		credsExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presignd_credentials_expiry_timestamp_seconds",
			Help: "Unix time at which the signing credentials expire; 0 when they do not expire.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presignd_config_last_reload_successful",
			Help: "Whether the last config load or reload succeeded (1) or failed (0).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presignd_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful config load or reload.",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presignd_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "presignd_http_request_duration_seconds",
			Help:    "HTTP request durations by route pattern.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5},
		}, []string{"route"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presignd_panics_recovered_total",
			Help: "Handler panics recovered into a 500 response.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presignd_http_requests_shed_total",
			Help: "Requests answered 503 overloaded because limits.max_in_flight requests were in flight.",
		}),
		idleClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presignd_http_idle_connections_closed_total",
			Help: "Idle keep-alive connections of the API listener closed to stay within limits.close_idle_above and limits.max_connections.",
		}),
		clients: map[string]bool{},
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "presignd_build_info",
		Help:        "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	info.Set(1)
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.ttlCapped, m.authFailures, m.credsExpiry, m.reloadOK, m.reloadTime,
		m.httpRequests, m.httpDuration, m.panics, m.shed, m.idleClosed, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range identity.Reasons {
		m.authFailures.WithLabelValues(string(r))
	}
	return m, nil
}

// registerLoad registers the gauges of what presignd holds at once: requests in
// flight (weighted as limits.max_in_flight counts them) and open API connections.
func (m *metrics) registerLoad(reg prometheus.Registerer, inFlight func() int64, open func() int) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "presignd_http_requests_in_flight",
			Help: "Requests being served on /v1 routes, a batch counting as 16, as limits.max_in_flight counts them.",
		}, func() float64 { return float64(inFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "presignd_http_open_connections",
			Help: "Open connections of the API listener, as limits.max_connections counts them.",
		}, func() float64 { return float64(open()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// setClients records the configured client names; only these become label values.
// Series of removed clients are dropped.
func (m *metrics) setClients(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]bool, len(names))
	for _, n := range names {
		next[n] = true
	}
	for n := range m.clients {
		if !next[n] {
			m.requests.DeletePartialMatch(prometheus.Labels{"client": n})
		}
	}
	m.clients = next
}

func (m *metrics) reloaded(ok bool, at time.Time) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadTime.Set(float64(at.Unix()))
		return
	}
	m.reloadOK.Set(0)
}

func (m *metrics) credentialsExpiry(c signer.Credentials) {
	v := 0.0
	if c.CanExpire {
		v = float64(c.Expires.Unix())
	}
	m.credsExpiry.Set(v)
}

// httpChildren returns the HTTP metrics of a route pattern and status code.
func (m *metrics) httpChildren(route string, code int) *httpChildren {
	k := httpKey{route, code}
	v, ok := m.httpSeries.Load(k)
	if !ok {
		v, _ = m.httpSeries.LoadOrStore(k, &httpChildren{
			requests: m.httpRequests.WithLabelValues(route, strconv.Itoa(code)),
			duration: m.httpDuration.WithLabelValues(route),
		})
	}
	return v.(*httpChildren)
}

// presignRequests returns the decision counter of a client, operation and outcome,
// cached on the caller (a reload makes new callers, so the cache never outlives the
// client's configuration).
func (m *metrics) presignRequests(c *caller, op, outcome string) prometheus.Counter {
	if c == nil {
		return m.requests.WithLabelValues("", op, outcome)
	}
	k := [2]string{op, outcome}
	if v, ok := c.requests.Load(k); ok {
		return v.(prometheus.Counter)
	}
	v, _ := c.requests.LoadOrStore(k, m.requests.WithLabelValues(c.name, op, outcome))
	return v.(prometheus.Counter)
}
