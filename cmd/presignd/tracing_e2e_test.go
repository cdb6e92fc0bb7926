package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/otlpreceiver"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// TestE2ETracing runs the presignd binary with OTEL_* variables pointing at a real
// OTLP/HTTP receiver, and checks what arrives: one server span per request, named by
// route pattern, in the caller's trace, with presignd's resource; the same trace in
// the audit line and as the latency histogram's exemplar.
func TestE2ETracing(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	rcv := otlpreceiver.Start(t)
	p := startProcessEnv(t, testConfig(e2eClients, configOptions{S3: s}),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.URL,
		"OTEL_BSP_SCHEDULE_DELAY=50",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=e2e",
	)

	const incomingTrace, incomingSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	req := func(method, path, body string, header ...string) (*http.Response, []byte) {
		t.Helper()
		r, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+appToken)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		res, err := noFollow.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	// 1. A presign in the caller's trace; 2. one that starts a trace; 3. a link with
	// a key that needs escaping; 4. a denial; 5. a multipart create (an S3 call).
	if res, b := req("POST", "/v1/presign", `{"bucket":"e2e","key":"reports/a.pdf"}`,
		"traceparent", "00-"+incomingTrace+"-"+incomingSpan+"-01"); res.StatusCode != 200 {
		t.Fatalf("presign: %d %s", res.StatusCode, b)
	}
	if res, b := req("POST", "/v1/presign", `{"bucket":"e2e","key":"reports/b.pdf"}`); res.StatusCode != 200 {
		t.Fatalf("presign: %d %s", res.StatusCode, b)
	}
	if res, b := req("GET", "/v1/objects/e2e/reports/q3%20summary.pdf", ""); res.StatusCode != 307 {
		t.Fatalf("link: %d %s", res.StatusCode, b)
	}
	if res, b := req("POST", "/v1/presign", `{"bucket":"e2e-other","key":"x"}`); res.StatusCode != 403 {
		t.Fatalf("denied: %d %s", res.StatusCode, b)
	}
	if res, b := req("POST", "/v1/multipart/create", `{"bucket":"e2e","key":"big/file.bin","content_length":10485760}`); res.StatusCode != 200 {
		t.Fatalf("multipart create: %d %s", res.StatusCode, b)
	}
	// Probes and scrapes on the admin listener are not traced.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		res, err := http.Get(p.AdminURL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	rcv.WaitFor(t, 6, 20*time.Second)
	time.Sleep(200 * time.Millisecond) // anything more would be an extra span
	var spans []otlpreceiver.Span      // the server spans
	var s3Spans []otlpreceiver.Span
	for _, sp := range rcv.Spans() {
		if strings.HasPrefix(sp.Name, "S3 ") {
			s3Spans = append(s3Spans, sp)
		} else {
			spans = append(spans, sp)
		}
	}
	if len(spans) != 5 || len(s3Spans) != 1 {
		t.Errorf("%d server spans and %d S3 spans arrived, want 5 and 1", len(spans), len(s3Spans))
	}
	// The multipart create's S3 call is a client span under the request's, with the
	// bucket and without the key.
	create := map[string]string{}
	for _, sp := range spans {
		if sp.Name == "POST /v1/multipart/create" {
			create[sp.TraceIDHex()] = sp.SpanIDHex()
		}
	}
	for _, sp := range s3Spans {
		if sp.Name != "S3 CreateMultipartUpload" || sp.Kind.String() != "SPAN_KIND_CLIENT" ||
			create[sp.TraceIDHex()] != sp.ParentSpanIDHex() || sp.Attr("aws.s3.bucket") != "e2e" {
			t.Errorf("S3 span %q kind %v bucket %q parent %s, want S3 CreateMultipartUpload, a client span of the create request's, bucket e2e",
				sp.Name, sp.Kind, sp.Attr("aws.s3.bucket"), sp.ParentSpanIDHex())
		}
		for _, kv := range sp.Attributes {
			if strings.Contains(kv.Value.String(), "file.bin") {
				t.Errorf("S3 span attribute %s holds the key", kv.Key)
			}
		}
	}
	byName := map[string][]otlpreceiver.Span{}
	for _, sp := range spans {
		byName[sp.Name] = append(byName[sp.Name], sp)
		if sp.Resource["service.name"] != "presignd" || sp.Resource["service.version"] != "v9.8.7-test" ||
			sp.Resource["deployment.environment.name"] != "e2e" {
			t.Errorf("span %q resource %v, want service presignd v9.8.7-test in deployment e2e", sp.Name, sp.Resource)
		}
		if sp.Kind.String() != "SPAN_KIND_SERVER" {
			t.Errorf("span %q kind %v, want server", sp.Name, sp.Kind)
		}
		if !strings.Contains(sp.Scope, "otelhttp") {
			t.Errorf("span %q scope %q, want otelhttp's", sp.Name, sp.Scope)
		}
		for _, kv := range sp.Attributes {
			if v := kv.Value.String(); strings.Contains(v, "X-Amz-Signature") || strings.Contains(v, appToken) {
				t.Errorf("span %q attribute %s holds a URL or the token: %s", sp.Name, kv.Key, v)
			}
		}
	}
	for name, n := range map[string]int{"POST /v1/presign": 3, "GET /v1/objects/{bucket}/*": 1, "POST /v1/multipart/create": 1} {
		if len(byName[name]) != n {
			t.Errorf("%d spans named %q, want %d (names: %v)", len(byName[name]), name, n, keys(byName))
		}
	}
	presigns := byName["POST /v1/presign"]
	var inCaller []otlpreceiver.Span
	for _, sp := range presigns {
		if sp.Attr("http.route") != "/v1/presign" || sp.Attr("http.request.method") != "POST" {
			t.Errorf("presign span attributes: route %q method %q", sp.Attr("http.route"), sp.Attr("http.request.method"))
		}
		if sp.TraceIDHex() == incomingTrace {
			inCaller = append(inCaller, sp)
		}
	}
	if len(inCaller) != 1 || inCaller[0].ParentSpanIDHex() != incomingSpan {
		t.Fatalf("want exactly one presign span in the caller's trace %s with parent %s; got %d", incomingTrace, incomingSpan, len(inCaller))
	}
	codes := map[string]int{}
	for _, sp := range presigns {
		codes[sp.Attr("http.response.status_code")]++
	}
	if codes["200"] != 2 || codes["403"] != 1 {
		t.Errorf("presign spans' status codes %v, want two 200 and one 403", codes)
	}

	// The audit lines carry each request's trace and span.
	auditSpans := map[string]string{} // span ID -> trace ID
	for _, line := range p.LogLines(t) {
		if line["msg"] != "presign" {
			continue
		}
		tid, _ := line["trace_id"].(string)
		sid, _ := line["span_id"].(string)
		if tid == "" || sid == "" {
			t.Errorf("audit line without trace_id or span_id: %v", line)
		}
		auditSpans[sid] = tid
	}
	for _, sp := range spans {
		if auditSpans[sp.SpanIDHex()] != sp.TraceIDHex() {
			t.Errorf("span %q (%s/%s) has no audit line with its IDs", sp.Name, sp.TraceIDHex(), sp.SpanIDHex())
		}
	}

	// The latency histogram's exemplars are spans that arrived.
	_, body := testenv.OpenMetrics(t, p.AdminURL+"/metrics")
	exemplar := regexp.MustCompile(`(?m)^presignd_http_request_duration_seconds_bucket\{route="/v1/presign",le="[^"]+"\} \d+ # \{.*trace_id="([0-9a-f]{32})".*\}`)
	m := exemplar.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no exemplar on presignd_http_request_duration_seconds for /v1/presign")
	}
	found := false
	for _, sp := range presigns {
		found = found || sp.TraceIDHex() == m[1]
	}
	if !found {
		t.Errorf("the exemplar's trace %s is none of the presign spans'", m[1])
	}
	if enc := rcv.Encodings(); enc["application/x-protobuf"] == 0 {
		t.Errorf("exports by encoding %v, want http/protobuf by default", enc)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestE2ETracingExportsOnStop: spans still buffered when presignd is told to stop
// are exported before it exits, here gzipped, with a header the endpoint requires.
func TestE2ETracingExportsOnStop(t *testing.T) {
	t.Parallel()
	rcv := otlpreceiver.Start(t)
	rcv.RequireHeader("Authorization", "Bearer collector-secret")
	p := startProcessEnv(t, testConfig(e2eClients, configOptions{}),
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="+rcv.URL+"/v1/traces",
		"OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
		"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20collector-secret,x-tenant=e2e",
		"OTEL_BSP_SCHEDULE_DELAY=600000", // nothing is exported before the stop
	)
	for i := 0; i < 3; i++ {
		p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "reports/a.pdf"})
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rcv.Spans()); n != 0 {
		t.Fatalf("%d spans exported before the stop with a 10-minute schedule", n)
	}
	p.stop(t, 60*time.Second)
	if n := len(rcv.Spans()); n != 3 {
		t.Errorf("%d spans arrived by the time presignd exited, want 3", n)
	}
	if enc := rcv.Encodings(); enc["application/x-protobuf+gzip"] == 0 {
		t.Errorf("exports by encoding %v, want protobuf gzipped", enc)
	}
	if strings.Contains(p.Logs(), "collector-secret") {
		t.Errorf("the log holds the exporter's header value")
	}
}

// TestE2ETracingCollectorHangs: a collector that takes the connection and never
// answers holds up neither the requests nor the exit: presignd answers as usual,
// gives the last spans 5 s on SIGTERM, says they were not exported, and exits 0.
func TestE2ETracingCollectorHangs(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept, read, never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	p := startProcessEnv(t, testConfig(e2eClients, configOptions{}),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+ln.Addr().String(),
		"OTEL_BSP_SCHEDULE_DELAY=100", // exports are tried, and hang, while requests are served
	)
	for i := 0; i < 20; i++ {
		start := time.Now()
		p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "reports/a.pdf"})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a presign took %s while the collector hangs", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The drain's grace (5 s) and the spans' 5 s, at most.
	if d := p.stop(t, 30*time.Second); d > 12*time.Second {
		t.Errorf("presignd took %s to exit with the collector hanging, want at most about 10 s", d)
	}
	if !strings.Contains(p.Logs(), "the last spans were not exported") {
		t.Errorf("no line says the last spans were not exported")
	}
}

// TestE2ETracingOff: with OTEL_SDK_DISABLED, an endpoint set is ignored and nothing
// is sent; an incoming traceparent leaves no trace in the audit line.
func TestE2ETracingOff(t *testing.T) {
	t.Parallel()
	rcv := otlpreceiver.Start(t)
	p := startProcessEnv(t, testConfig(e2eClients, configOptions{}),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.URL, "OTEL_SDK_DISABLED=true", "OTEL_BSP_SCHEDULE_DELAY=50")
	status, _, body := p.post(t, appToken, "/v1/presign", `{"bucket":"e2e","key":"reports/a.pdf"}`)
	if status != 200 {
		t.Fatalf("presign: %d %s", status, body)
	}
	p.stop(t, 60*time.Second)
	if n := len(rcv.Spans()); n != 0 {
		t.Errorf("%d spans arrived with OTEL_SDK_DISABLED=true", n)
	}
	if strings.Contains(p.Logs(), "trace_id") {
		t.Errorf("the log has a trace_id with tracing off")
	}
}

// TestTracingSettingsRefused: a setting that would leave tracing half on stops
// presignd at start, with one sentence.
func TestTracingSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			`presignd serve: OTEL_EXPORTER_OTLP_PROTOCOL="grpc": presignd exports traces over OTLP/HTTP as protobuf only (http/protobuf).`},
		{map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"},
			`presignd serve: OTEL_TRACES_EXPORTER="jaeger": presignd exports traces by OTLP (otlp) or not at all (none).`},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			`presignd serve: OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL of a host.`},
	} {
		code, _, stderr := runCommand(t, tc.env, "", "serve", "--dev", "--listen", "127.0.0.1:0")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if last := lines[len(lines)-1]; code == 0 || last != tc.want {
			t.Errorf("serve with %v: exit %d, last line %q; want non-zero and %q", tc.env, code, last, tc.want)
		}
		if strings.Contains(stderr, "listening") {
			t.Errorf("serve with %v listened before refusing", tc.env)
		}
	}
}
