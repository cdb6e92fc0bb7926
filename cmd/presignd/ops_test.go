package main

// Operations: metrics, a real Prometheus scraping presignd, credential outages,
// reload, rate limits and the graceful drain.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/presignd/presignd/internal/config"
)

const (
	tokenA = "token-for-client-alpha-0123456789"
	tokenB = "token-for-client-bravo-0123456789"
	// A key that must never show up in metrics.
	secretishKey = "reports/sensitive-customer-42.csv"
)

var grantsAll = `[{bucket: media, prefixes: ["reports/"], methods: [GET, PUT], max_ttl: 1h}]`

func scrape(t *testing.T, url string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	return string(body), fams
}

// value returns the value of the series of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func TestMetricsFollowRequests(t *testing.T) {
	t.Parallel()
	p := startPresignd(t, testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{}))

	steps := []struct {
		token string
		body  any
		want  int
	}{
		{tokenA, map[string]any{"bucket": "media", "key": secretishKey}, 200},
		{tokenA, map[string]any{"bucket": "media", "key": secretishKey, "expires_in": 7200}, 200}, // capped by policy
		{tokenA, map[string]any{"bucket": "media", "key": "other/x"}, 403},
		{tokenA, map[string]any{"bucket": "media", "key": "reports/../x"}, 400},
		{"wrong-token", map[string]any{"bucket": "media", "key": secretishKey}, 401},
		{"", map[string]any{"bucket": "media", "key": secretishKey}, 401},
	}
	for _, s := range steps {
		if code, _, body := p.post(t, s.token, "/v1/presign", s.body); code != s.want {
			t.Fatalf("POST %v: got %d, want %d: %s", s.body, code, s.want, body)
		}
	}
	text, fams := scrape(t, p.AdminURL+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"presignd_presign_requests_total", map[string]string{"client": "alpha", "operation": "presign", "outcome": "issued"}, 2},
		{"presignd_presign_requests_total", map[string]string{"client": "alpha", "operation": "presign", "outcome": "denied"}, 1},
		{"presignd_presign_requests_total", map[string]string{"client": "alpha", "operation": "presign", "outcome": "invalid"}, 1},
		{"presignd_ttl_capped_total", map[string]string{"cause": "policy"}, 1},
		{"presignd_auth_failures_total", map[string]string{"reason": "unknown_token"}, 1},
		{"presignd_auth_failures_total", map[string]string{"reason": "missing"}, 1},
		{"presignd_presign_duration_seconds", nil, 4},
		{"presignd_http_requests_total", map[string]string{"route": "/v1/presign", "code": "200"}, 2},
		{"presignd_http_requests_total", map[string]string{"route": "/v1/presign", "code": "401"}, 2},
		{"presignd_config_last_reload_successful", nil, 1},
		{"presignd_credentials_expiry_timestamp_seconds", nil, 0},
		{"presignd_build_info", nil, 1},
	} {
		if got := value(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, fam := range []string{"go_goroutines", "process_resident_memory_bytes", "presignd_http_request_duration_seconds", "presignd_config_last_reload_success_timestamp_seconds"} {
		if _, ok := fams[fam]; !ok {
			t.Errorf("metric family %s is missing", fam)
		}
	}
	for _, secret := range []string{secretishKey, "reports/", tokenA, config.HashToken(tokenA), "X-Amz", "other/x"} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics contain %q", secret)
		}
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}

	// With a separate admin listener, the API listener does not serve admin routes.
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get(p.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the API listener: got %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestCredentialOutageRecoversWithoutRestart(t *testing.T) {
	// Not parallel: it switches the shared credential_process of profile "short".
	if err := os.WriteFile(credentialFailFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(credentialFailFile) })
	p := startPresignd(t, testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{Profile: profileShort}))
	req := map[string]any{"bucket": "media", "key": "reports/a.csv"}

	if code := getStatus(t, p.AdminURL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the credential source fails: got %d, want 503", code)
	}
	if code := getStatus(t, p.AdminURL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while the credential source fails: got %d, want 200", code)
	}
	code, _, body := p.post(t, tokenA, "/v1/presign", req)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"credentials_unavailable"`) {
		t.Errorf("presign while the credential source fails: got %d %s, want 503 credentials_unavailable", code, body)
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	if got := value(fams, "presignd_presign_requests_total", map[string]string{"client": "alpha", "outcome": "error"}); got != 1 {
		t.Errorf("error outcomes while failing: got %v, want 1", got)
	}

	if err := os.Remove(credentialFailFile); err != nil {
		t.Fatal(err)
	}
	if code := getStatus(t, p.AdminURL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the credential source healed: got %d, want 200", code)
	}
	code, _, body = p.post(t, tokenA, "/v1/presign", req)
	if code != http.StatusOK {
		t.Fatalf("presign after the credential source healed: got %d %s, want 200", code, body)
	}
	_, fams = scrape(t, p.AdminURL+"/metrics")
	exp := value(fams, "presignd_credentials_expiry_timestamp_seconds", nil)
	if now := float64(time.Now().Unix()); exp < now || exp > now+float64(shortCredentialsLifetime/time.Second)+60 {
		t.Errorf("credentials expiry metric = %v, want within the next %s", exp, shortCredentialsLifetime)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRateLimitIsPerClient(t *testing.T) {
	t.Parallel()
	clients := clientYAML("alpha", tokenA, grantsAll) + "    rate_limit: {rps: 0.5, burst: 2}\n" + clientYAML("bravo", tokenB, grantsAll)
	p := startPresignd(t, testConfig(clients, configOptions{}))
	req := map[string]any{"bucket": "media", "key": "reports/a.csv"}
	for i := 0; i < 2; i++ {
		if code, _, body := p.post(t, tokenA, "/v1/presign", req); code != 200 {
			t.Fatalf("alpha request %d within its burst: got %d %s", i, code, body)
		}
	}
	code, h, body := p.post(t, tokenA, "/v1/presign", req)
	if code != http.StatusTooManyRequests || !strings.Contains(string(body), `"rate_limited"`) {
		t.Fatalf("alpha over its limit: got %d %s, want 429 rate_limited", code, body)
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After = %q, want 1 or 2 seconds", h.Get("Retry-After"))
	}
	for i := 0; i < 20; i++ {
		if code, _, body := p.post(t, tokenB, "/v1/presign", req); code != 200 {
			t.Fatalf("bravo (unlimited) request %d while alpha is limited: got %d %s", i, code, body)
		}
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	if got := value(fams, "presignd_presign_requests_total", map[string]string{"client": "alpha", "outcome": "rate_limited"}); got != 1 {
		t.Errorf("rate_limited outcomes for alpha: got %v, want 1", got)
	}
}

func postTo(client *http.Client, base, token string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/presign", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	p := startProcess(t, testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{}))
	req := map[string]any{"bucket": "media", "key": "reports/a.csv"}

	// Load from alpha for the whole test: not one request may fail.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for ctx.Err() == nil {
				code, err := postTo(c, p.URL, tokenA, req)
				sent.Add(1)
				if err != nil || code != http.StatusOK {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("code %d, error %v", code, err))
				}
			}
		}()
	}

	// A broken file: the old config keeps serving, the metric says so.
	broken := testConfig(clientYAML("alpha", tokenA, grantsAll)+clientYAML("bravo", tokenB, `[{bucket: media, methods: [GET], max_ttl: 9d}]`), configOptions{})
	if err := os.WriteFile(p.ConfigPath, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	m := p.waitFor(t, "config reload failed; the previous config keeps serving", 30*time.Second)
	if e, _ := m["error"].(string); !strings.Contains(e, "clients[1].grants[0].max_ttl") {
		t.Errorf("reload error %q does not name clients[1].grants[0].max_ttl", e)
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	if got := value(fams, "presignd_config_last_reload_successful", nil); got != 0 {
		t.Errorf("presignd_config_last_reload_successful after a failed reload = %v, want 0", got)
	}
	if code, err := postTo(http.DefaultClient, p.URL, tokenB, req); err != nil || code != http.StatusUnauthorized {
		t.Errorf("bravo after the failed reload: got %d %v, want 401", code, err)
	}

	// A good file adding bravo: bravo can sign at once.
	good := testConfig(clientYAML("alpha", tokenA, grantsAll)+clientYAML("bravo", tokenB, grantsAll), configOptions{})
	if err := os.WriteFile(p.ConfigPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "config reloaded", 30*time.Second)
	if code, err := postTo(http.DefaultClient, p.URL, tokenB, req); err != nil || code != http.StatusOK {
		t.Errorf("bravo after the good reload: got %d %v, want 200", code, err)
	}
	_, fams = scrape(t, p.AdminURL+"/metrics")
	if got := value(fams, "presignd_config_last_reload_successful", nil); got != 1 {
		t.Errorf("presignd_config_last_reload_successful after a good reload = %v, want 1", got)
	}
	stop()
	wg.Wait()
	if sent.Load() == 0 {
		t.Fatal("the load sent nothing")
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during reloads; first: %v", n, sent.Load(), firstFailure.Load())
	}
	t.Logf("%d requests during two reloads", sent.Load())
}

func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	const drainDelay = 2 * time.Second
	cfg := testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{Shutdown: "{drain_delay: 2s, grace: 10s}"})
	p := startProcess(t, cfg)
	req := map[string]any{"bucket": "media", "key": "reports/a.csv"}

	var (
		sigtermAt  atomic.Int64 // unix nanos
		notReadyAt atomic.Int64
		wg         sync.WaitGroup
		ok, after  atomic.Int64
		mu         sync.Mutex
		failures   []string
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, s)
		}
	}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-p.exited:
					return
				default:
				}
				code, err := postTo(c, p.URL, tokenA, req)
				at := time.Now().UnixNano()
				switch {
				case err == nil && code == http.StatusOK:
					ok.Add(1)
				case err != nil && refusedOrReset(err) && sigtermAt.Load() != 0 && at >= sigtermAt.Load()+int64(drainDelay):
					// The listener closed after the drain delay: allowed.
					after.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					fail(fmt.Sprintf("at %s after SIGTERM: code %d, error %v", time.Duration(at-sigtermAt.Load()), code, err))
				}
			}
		}()
	}
	// Readiness poller.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-p.exited:
				return
			case <-time.After(50 * time.Millisecond):
			}
			resp, err := http.Get(p.AdminURL + "/readyz")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && sigtermAt.Load() != 0 {
				notReadyAt.CompareAndSwap(0, time.Now().UnixNano())
			}
		}
	}()

	time.Sleep(500 * time.Millisecond)
	before := ok.Load()
	sigtermAt.Store(time.Now().UnixNano())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("presignd did not exit within 60s of SIGTERM")
	}
	wg.Wait()
	if p.exitErr != nil {
		t.Errorf("presignd exited with %v, want status 0", p.exitErr)
	}
	if before == 0 || ok.Load() <= before {
		t.Errorf("requests served before SIGTERM: %d, after: %d; want both above 0", before, ok.Load()-before)
	}
	if n := notReadyAt.Load(); n == 0 {
		t.Error("/readyz never answered 503 after SIGTERM")
	} else if d := time.Duration(n - sigtermAt.Load()); d > drainDelay {
		t.Errorf("/readyz turned 503 %s after SIGTERM, want within the drain delay of %s", d, drainDelay)
	}
	for _, f := range failures {
		t.Errorf("request failed: %s", f)
	}
	logs := p.Logs()
	for _, msg := range []string{`"msg":"signal received, draining"`, `"msg":"closing listeners"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, msg) {
			t.Errorf("the log lacks %s", msg)
		}
	}
	t.Logf("served %d requests (%d before SIGTERM); %d refused after the listener closed", ok.Load(), before, after.Load())
}

// refusedOrReset reports a connection the server never accepted: refused by a
// closed listener, or reset from its accept queue as it closed.
func refusedOrReset(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		(errors.As(err, &oe) && oe.Op == "dial") || errors.Is(err, io.EOF)
}

func TestPrometheusScrapesPresignd(t *testing.T) {
	t.Parallel()
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("the prometheus server is not installed (Debian package prometheus; make test-deps installs it)")
	}
	p := startProcess(t, testConfig(clientYAML("alpha", tokenA, grantsAll), configOptions{}))
	for i := 0; i < 3; i++ {
		if code, err := postTo(http.DefaultClient, p.URL, tokenA, map[string]any{"bucket": "media", "key": "reports/a.csv"}); err != nil || code != 200 {
			t.Fatalf("presign: %d %v", code, err)
		}
	}

	dir := t.TempDir()
	admin := strings.TrimPrefix(p.AdminURL, "http://")
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: presignd
    static_configs:
      - targets: [%q]
`, admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := ln.Addr().String()
	ln.Close()
	var promLog bytes.Buffer
	prom := exec.Command(promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})

	query := func(q string) []map[string]any {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []map[string]any `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" {
			return nil
		}
		return r.Data.Result
	}
	want := map[string]func([]map[string]any) bool{
		`presignd_build_info{version="v9.8.7-test",revision="0123abcd"}`: func(r []map[string]any) bool { return len(r) == 1 },
		`presignd_presign_requests_total{client="alpha",outcome="issued"}`: func(r []map[string]any) bool {
			if len(r) != 1 {
				return false
			}
			v, _ := r[0]["value"].([]any)
			return len(v) == 2 && v[1] == "3"
		},
		`up{job="presignd"}`: func(r []map[string]any) bool {
			if len(r) != 1 {
				return false
			}
			v, _ := r[0]["value"].([]any)
			return len(v) == 2 && v[1] == "1"
		},
	}
	deadline := time.Now().Add(90 * time.Second)
	for q, check := range want {
		for {
			if r := query(q); check(r) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus never answered %s as expected; last result: %v", q, query(q))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}
