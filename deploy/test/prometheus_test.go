package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The panels that must show data once presignd has served a few requests.
var panelsWithData = []string{
	"Issued URLs",
	"Config",
	"Pods up",
	"Presign requests by outcome",
	"Presign requests by client",
	"Presign latency",
	"HTTP latency by route",
	"HTTP requests by route and code",
	"TTL caps by cause",
	"Authentication failures by reason",
	"Build info",
}

// TestQueriesAgainstPrometheus runs presignd and Debian's Prometheus on loopback,
// lets Prometheus scrape presignd serving real requests and evaluate the rule file,
// then runs every PromQL expression of the rules and the dashboard through
// Prometheus's HTTP API.
func TestQueriesAgainstPrometheus(t *testing.T) {
	promBin := lookPath(t, "prometheus")
	bin := presigndBinary(t)
	dir := t.TempDir()

	api := startPresignd(t, bin, dir)
	prom := startPrometheus(t, promBin, dir, api)
	dash := readDashboard(t)
	rules := readRules(t)

	// Serve requests until Prometheus has rates, histograms and recorded series.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ready := []string{
		`sum(rate(presignd_presign_requests_total{outcome="issued"}[1m])) > 0`,
		`sum(rate(presignd_presign_duration_seconds_count[1m])) > 0`,
		`sum(rate(presignd_ttl_capped_total[1m])) > 0`,
		`presignd:presign_requests:rate5m`,
		`presignd:http_errors:ratio_rate5m`,
	}
	for {
		sendTraffic(t, api)
		if n := countReady(prom, ready); n == len(ready) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Prometheus never had data for all of %q", ready)
		case <-time.After(time.Second):
		}
	}
	sendTraffic(t, api)

	t.Run("metric names", func(t *testing.T) {
		exposed := exposedMetrics(t, api)
		names := regexp.MustCompile(`\bpresignd_[a-z0-9_]+`)
		var exprs []string
		for _, r := range rules {
			exprs = append(exprs, r.Expr)
		}
		for _, q := range dash.queries() {
			exprs = append(exprs, q.Expr)
		}
		for _, v := range dash.Templating.List {
			exprs = append(exprs, v.queryString())
		}
		for _, e := range exprs {
			for _, n := range names.FindAllString(e, -1) {
				if !exposed[n] {
					t.Errorf("%s is not a metric presignd exposes (in %q)", n, e)
				}
			}
		}
	})

	t.Run("rules", func(t *testing.T) {
		for _, r := range rules {
			res, err := prom.query(r.Expr)
			if err != nil {
				t.Errorf("%s%s: %v", r.Record, r.Alert, err)
				continue
			}
			switch {
			case r.Record != "":
				// Recorded series exist: the selectors match what presignd exposes.
				if len(res) == 0 {
					t.Errorf("recording rule %s returns no data", r.Record)
				}
			case len(res) > 0:
				// A healthy presignd must not trip any alert.
				t.Errorf("alert %s would fire on a healthy presignd: %v", r.Alert, res)
			}
		}
	})

	t.Run("rule health", func(t *testing.T) {
		checkRuleHealth(t, prom, len(rules))
	})

	t.Run("dashboard variables", func(t *testing.T) {
		for _, v := range dash.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValuesRE.FindStringSubmatch(v.queryString())
			if m == nil {
				t.Fatalf("variable %s: %q is not label_values(selector, label)", v.Name, v.queryString())
			}
			sel, err := dash.grafanaExpand(m[1])
			if err != nil {
				t.Fatal(err)
			}
			res, err := prom.query(sel)
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
				continue
			}
			var values []string
			for _, s := range res {
				if s.Metric[m[2]] != "" {
					values = append(values, s.Metric[m[2]])
				}
			}
			if len(values) == 0 {
				t.Errorf("variable %s offers no value: no %s label on %s", v.Name, m[2], sel)
			}
		}
	})

	t.Run("dashboard panels", func(t *testing.T) {
		want := map[string]bool{}
		for _, p := range panelsWithData {
			want[p] = true
		}
		seen := map[string]bool{}
		for _, q := range dash.queries() {
			seen[q.Panel] = true
			expr, err := dash.grafanaExpand(q.Expr)
			if err != nil {
				t.Error(err)
				continue
			}
			res, err := prom.query(expr)
			if err != nil {
				t.Errorf("panel %q query %s: %v", q.Panel, q.RefID, err)
				continue
			}
			if !want[q.Panel] {
				continue
			}
			finite := false
			for _, s := range res {
				finite = finite || (!math.IsNaN(s.Value) && !math.IsInf(s.Value, 0))
			}
			if !finite {
				t.Errorf("panel %q query %s returns no data: %s", q.Panel, q.RefID, expr)
			}
		}
		for p := range want {
			if !seen[p] {
				t.Errorf("the dashboard has no panel %q", p)
			}
		}
	})

	t.Run("build info", func(t *testing.T) {
		res, err := prom.query(`presignd_build_info`)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].Metric["version"] != testVersion || res[0].Metric["revision"] != testRevision {
			t.Errorf("presignd_build_info = %v, want version %s and revision %s", res, testVersion, testRevision)
		}
	})
}

// startPresignd runs presignd serve --dev on a free loopback port and returns its
// base URL once /readyz answers 200.
func startPresignd(t *testing.T, bin, dir string) string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--dev", "--listen", "127.0.0.1:0")
	cmd.Env = cleanEnv(
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
		"HOME="+dir,
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addrc := make(chan string, 1)
	var logMu sync.Mutex
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Bytes()
			logMu.Lock()
			if log.Len() < 64*1024 {
				log.Write(line)
				log.WriteByte('\n')
			}
			logMu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				select {
				case addrc <- rec.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(60 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("presignd did not report its address; its log:\n%s", log.String())
	}
	base := "http://" + addr
	waitFor(t, "presignd /readyz", 30*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// sendTraffic sends one round of requests covering the outcomes the dashboard
// shows. Responses carry pre-signed URLs: they are checked for status only.
func sendTraffic(t *testing.T, base string) {
	t.Helper()
	for _, r := range []struct {
		token, body string
		want        int
	}{
		{"dev-token", `{"bucket":"dev","key":"reports/2026/summary.csv"}`, http.StatusOK},
		{"dev-token", `{"bucket":"dev","key":"uploads/a.png","method":"PUT","content_type":"image/png","expires_in":900}`, http.StatusOK},
		{"dev-token", `{"bucket":"dev","key":"x","expires_in":700000}`, http.StatusOK}, // capped
		{"dev-token", `{"bucket":"dev","key":"reports/b.csv","method":"HEAD"}`, http.StatusOK},
		{"dev-token", `{"bucket":"somebody-elses","key":"x"}`, http.StatusForbidden},
		{"dev-token", `{"bucket":"Not_A_Bucket","key":"x"}`, http.StatusBadRequest},
		{"not-a-known-token", `{"bucket":"dev","key":"x"}`, http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/presign", strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+r.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatalf("POST /v1/presign: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Fatalf("POST /v1/presign %s: status %d, want %d", r.body, resp.StatusCode, r.want)
		}
	}
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// exposedMetrics lists the metric names on presignd's /metrics, histograms with
// their _bucket, _sum and _count series.
func exposedMetrics(t *testing.T, base string) map[string]bool {
	t.Helper()
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !names["presignd_build_info"] {
		t.Fatalf("presignd's /metrics has no presignd_build_info: %v", names)
	}
	return names
}

// prometheus is a running Prometheus server.
type prometheus struct {
	base string
}

// startPrometheus runs Prometheus on a free loopback port, scraping presignd every
// second and evaluating the rule file every second.
func startPrometheus(t *testing.T, bin, dir, target string) *prometheus {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	// Target labels as the Prometheus Operator sets them, so that the rules'
	// "by (namespace, job)" and the dashboard's $namespace see real values.
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: presignd
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
        labels:
          namespace: presignd-test
          pod: presignd-test-0
`, rulesPath(t), u.Host)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	p := &prometheus{base: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus was not ready within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "Prometheus to scrape presignd", 60*time.Second, func() bool {
		res, err := p.query(`up{job="presignd"} == 1`)
		return err == nil && len(res) == 1
	})
	return p
}

// freeLoopbackAddr picks a port nothing listens on. Prometheus cannot report a
// port it chose itself, so there is a small window in which another process could
// take it; the test then fails loudly rather than wrongly.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string
	Value  float64
}

func (s sample) String() string { return fmt.Sprintf("%v=%g", s.Metric, s.Value) }

// query runs an instant query. An error, a warning or a result that is not an
// instant vector is an error.
func (p *prometheus) query(expr string) ([]sample, error) {
	resp, err := httpClient.PostForm(p.base+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string   `json:"status"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Warnings  []string `json:"warnings"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d: %v", expr, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, body.ErrorType, body.Error)
	}
	if len(body.Warnings) > 0 {
		return nil, fmt.Errorf("query %q: warnings %q", expr, body.Warnings)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, body.Data.ResultType)
	}
	out := make([]sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %v", expr, r.Value[1], err)
		}
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// countReady counts the queries that already return data.
func countReady(p *prometheus, queries []string) int {
	n := 0
	for _, q := range queries {
		if res, err := p.query(q); err == nil && len(res) > 0 {
			n++
		}
	}
	return n
}

// checkRuleHealth waits until Prometheus has evaluated every rule, then wants each
// healthy.
func checkRuleHealth(t *testing.T, p *prometheus, want int) {
	t.Helper()
	type ruleState struct {
		Name           string `json:"name"`
		Health         string `json:"health"`
		LastError      string `json:"lastError"`
		LastEvaluation string `json:"lastEvaluation"`
	}
	var rules []ruleState
	waitFor(t, "every rule to be evaluated", 30*time.Second, func() bool {
		resp, err := httpClient.Get(p.base + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Groups []struct {
					Rules []ruleState `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		rules = rules[:0]
		for _, g := range body.Data.Groups {
			rules = append(rules, g.Rules...)
		}
		for _, r := range rules {
			if r.Health == "unknown" || strings.HasPrefix(r.LastEvaluation, "0001-") {
				return false
			}
		}
		return len(rules) == want
	})
	for _, r := range rules {
		if r.Health != "ok" || r.LastError != "" {
			t.Errorf("rule %s: health %s, error %q", r.Name, r.Health, r.LastError)
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
