package api_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/presignd/presignd/internal/testenv"
)

// tracedFixture is the API with tracing on, its spans kept in memory as each ends.
func tracedFixture(t *testing.T) (*fixture, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return newFixture(t, fixtureOptions{tracer: tp}), spans
}

func spanAttr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTracingSpans(t *testing.T) {
	f, spans := tracedFixture(t)

	r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a.pdf"}`, "traceparent", traceparent, "X-Forwarded-For", "203.0.113.66")
	if r.status != 200 {
		t.Fatalf("presign: %d %s", r.status, r.body)
	}
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans after one request, want 1: %+v", len(got), got)
	}
	s := got[0]
	if s.Name != "POST /v1/presign" {
		t.Errorf("span name %q, want %q", s.Name, "POST /v1/presign")
	}
	if s.SpanKind != trace.SpanKindServer {
		t.Errorf("span kind %v, want server", s.SpanKind)
	}
	if v, _ := spanAttr(s, "http.route"); v.AsString() != "/v1/presign" {
		t.Errorf("http.route %q, want /v1/presign", v.AsString())
	}
	// The fixture trusts no proxy: the client is the peer, whatever X-Forwarded-For says.
	if v, _ := spanAttr(s, "client.address"); v.AsString() != "127.0.0.1" {
		t.Errorf("client.address %q, want the peer 127.0.0.1", v.AsString())
	}
	if v, _ := spanAttr(s, "http.response.status_code"); v.AsInt64() != 200 {
		t.Errorf("http.response.status_code %v, want 200", v.AsInt64())
	}
	if id := s.SpanContext.TraceID().String(); id != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace ID %s, want the incoming traceparent's", id)
	}
	if p := s.Parent.SpanID().String(); p != "00f067aa0ba902b7" || !s.Parent.IsRemote() {
		t.Errorf("parent span %s (remote %v), want the incoming 00f067aa0ba902b7", p, s.Parent.IsRemote())
	}
	// The audit line names the request's trace and span.
	if len(r.audit) != 1 {
		t.Fatalf("%d audit lines, want 1", len(r.audit))
	}
	if a := r.audit[0]; a.str("trace_id") != s.SpanContext.TraceID().String() || a.str("span_id") != s.SpanContext.SpanID().String() {
		t.Errorf("audit trace_id %q span_id %q, want %s %s", a.str("trace_id"), a.str("span_id"), s.SpanContext.TraceID(), s.SpanContext.SpanID())
	}
	// Nothing of the span holds the URL, the token or its signature.
	for _, a := range s.Attributes {
		assertNoSecrets(t, "span attribute "+string(a.Key), a.Value.String())
		if strings.Contains(a.Value.String(), "X-Amz-Signature") {
			t.Errorf("span attribute %s holds a URL: %s", a.Key, a.Value.String())
		}
	}

	// A denial, a route with a parameter, a request no route matches.
	spans.Reset()
	if r := f.post(t, reportsToken, `{"bucket":"media","key":"secret/a.pdf"}`); r.status != 403 {
		t.Fatalf("denied presign: %d", r.status)
	}
	if r := f.get(t, "/v1/objects/media/reports/private-name.pdf", "Authorization", "Bearer "+reportsToken); r.status != 307 {
		t.Fatalf("link: %d", r.status)
	}
	if r := f.get(t, "/v1/nothing/here"); r.status != 404 {
		t.Fatalf("unmatched: %d", r.status)
	}
	var names []string
	for _, s := range spans.GetSpans() {
		names = append(names, s.Name)
		if s.Parent.IsValid() {
			t.Errorf("span %q has a parent without a traceparent", s.Name)
		}
	}
	// The link's span holds the route pattern, not the object's key.
	link := spans.GetSpans()[1]
	if v, _ := spanAttr(link, "url.path"); v.AsString() != "/v1/objects/{bucket}/*" {
		t.Errorf("the link span's url.path is %q, want the route pattern", v.AsString())
	}
	for _, a := range link.Attributes {
		if strings.Contains(a.Value.String(), "private-name") {
			t.Errorf("the link span's %s holds the key: %s", a.Key, a.Value.String())
		}
	}
	want := []string{"POST /v1/presign", "GET /v1/objects/{bucket}/*", "GET"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("span names %q, want %q", names, want)
	}

	// The admin routes served on the API listener are not traced.
	spans.Reset()
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		f.get(t, p)
	}
	if n := len(spans.GetSpans()); n != 0 {
		t.Errorf("%d spans for the admin routes, want none", n)
	}
}

func TestTracingExemplars(t *testing.T) {
	f, spans := tracedFixture(t)
	if r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a.pdf"}`); r.status != 200 {
		t.Fatalf("presign: %d", r.status)
	}
	s := spans.GetSpans()[0]
	ct, body := testenv.OpenMetrics(t, f.url+"/metrics")
	if !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want OpenMetrics", ct)
	}
	re := regexp.MustCompile(`(?m)^presignd_http_request_duration_seconds_bucket\{route="/v1/presign",le="[^"]+"\} 1 # \{([^}]*)\} [0-9.e+-]+ [0-9.e+-]+$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no exemplar on the latency histogram of /v1/presign:\n%s", grepLines(body, "presignd_http_request_duration_seconds_bucket"))
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(m[1], ",") {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = strings.Trim(v, `"`)
	}
	if labels["trace_id"] != s.SpanContext.TraceID().String() || labels["span_id"] != s.SpanContext.SpanID().String() || len(labels) != 2 {
		t.Errorf("exemplar labels %v, want trace_id %s and span_id %s", labels, s.SpanContext.TraceID(), s.SpanContext.SpanID())
	}
	// The text format, which is what a scraper gets unless it asks, is unchanged.
	res, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || strings.Contains(string(plain), "trace_id") {
		t.Errorf("plain scrape: Content-Type %q, exemplar shown: %v", ct, strings.Contains(string(plain), "trace_id"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Without a tracer, an incoming traceparent is not taken up: no trace ID in the
// audit line, no exemplar.
func TestTracingOff(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.post(t, reportsToken, `{"bucket":"media","key":"reports/a.pdf"}`, "traceparent", traceparent)
	if r.status != 200 || len(r.audit) != 1 {
		t.Fatalf("presign: %d, %d audit lines", r.status, len(r.audit))
	}
	for _, k := range []string{"trace_id", "span_id"} {
		if _, ok := r.audit[0][k]; ok {
			t.Errorf("the audit line has %s with tracing off", k)
		}
	}
	if _, body := testenv.OpenMetrics(t, f.url+"/metrics"); strings.Contains(body, "trace_id") {
		t.Errorf("an exemplar with tracing off:\n%s", grepLines(body, "trace_id"))
	}
}
