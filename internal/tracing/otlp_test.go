package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/presignd/presignd/internal/testenv/otlpreceiver"
)

// testSpans has every kind of attribute value, events, links, statuses, kinds, a
// remote parent, trace state, two resources and three scopes.
func testSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	ts, err := trace.ParseTraceState("vendor=a,other=b")
	if err != nil {
		t.Fatal(err)
	}
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	sc := func(span byte, remote bool) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{span, 1, 2, 3, 4, 5, 6, 7}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: remote})
	}
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.40.0", attribute.String("service.name", "presignd"), attribute.String("service.version", "v1"))
	resB := resource.NewSchemaless(attribute.String("service.name", "other"), attribute.Int("n", 3))
	scopeA := instrumentation.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.72.0", SchemaURL: "https://opentelemetry.io/schemas/1.40.0"}
	scopeB := instrumentation.Scope{Name: "b", Attributes: attribute.NewSet(attribute.Bool("x", true))}
	start := time.Date(2026, 12, 6, 5, 0, 0, 123456789, time.UTC)
	attrs := []attribute.KeyValue{
		attribute.String("http.route", "/v1/presign"),
		attribute.Int64("http.response.status_code", 200),
		attribute.Bool("b", true),
		attribute.Float64("f", 0.25),
		attribute.StringSlice("ss", []string{"a", "", "ü"}),
		attribute.Int64Slice("is", []int64{-1, 0, 1 << 40}),
		attribute.Float64Slice("fs", []float64{1.5, -2}),
		attribute.BoolSlice("bs", []bool{true, false}),
		{Key: "bytes", Value: attribute.ByteSliceValue([]byte{0, 1, 255})},
		{Key: "slice", Value: attribute.SliceValue(attribute.StringValue("x"), attribute.IntValue(2))},
		{Key: "map", Value: attribute.MapValue(attribute.String("k", "v"), attribute.Int("n", 1))},
		{Key: "empty", Value: attribute.Value{}},
	}
	stubs := tracetest.SpanStubs{
		{
			Name: "POST /v1/presign", SpanContext: sc(1, false), Parent: sc(9, true), SpanKind: trace.SpanKindServer,
			StartTime: start, EndTime: start.Add(123 * time.Microsecond), Attributes: attrs,
			Events: []sdktrace.Event{{Name: "read", Time: start.Add(time.Microsecond), Attributes: []attribute.KeyValue{attribute.Int("n", 1)}, DroppedAttributeCount: 2}},
			Links:  []sdktrace.Link{{SpanContext: sc(7, true), Attributes: []attribute.KeyValue{attribute.String("why", "batch")}, DroppedAttributeCount: 1}},
			Status: sdktrace.Status{Code: codes.Error, Description: "boom"}, DroppedAttributes: 3, DroppedEvents: 4, DroppedLinks: 5,
			Resource: resA, InstrumentationScope: scopeA,
		},
		{Name: "GET", SpanContext: sc(2, false), SpanKind: trace.SpanKindClient, StartTime: start, EndTime: start.Add(time.Millisecond),
			Status: sdktrace.Status{Code: codes.Ok}, Resource: resA, InstrumentationScope: scopeA},
		{Name: "internal", SpanContext: sc(3, false), Parent: sc(1, false), SpanKind: trace.SpanKindInternal, StartTime: start, EndTime: start,
			Resource: resA, InstrumentationScope: scopeB},
		{Name: "producer", SpanContext: sc(4, false), SpanKind: trace.SpanKindProducer, StartTime: start, EndTime: start, Resource: resB, InstrumentationScope: scopeB},
		{Name: "consumer", SpanContext: sc(5, false), SpanKind: trace.SpanKindConsumer, StartTime: start, EndTime: start, Resource: resB},
	}
	return stubs.Snapshots()
}

// normalized decodes an export and sorts what OTLP leaves unordered (the official
// exporter groups through maps), so that two exports of the same spans compare equal.
func normalized(t *testing.T, body []byte) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	var m coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	key := func(msg proto.Message) string { return prototext.Format(msg) }
	for _, rs := range m.ResourceSpans {
		sort.Slice(rs.ScopeSpans, func(i, j int) bool { return key(rs.ScopeSpans[i].Scope) < key(rs.ScopeSpans[j].Scope) })
	}
	sort.Slice(m.ResourceSpans, func(i, j int) bool { return key(m.ResourceSpans[i].Resource) < key(m.ResourceSpans[j].Resource) })
	return &m
}

// TestExporterMatchesOTLPTraceHTTP: presignd's exporter sends what OpenTelemetry's
// own OTLP/HTTP exporter sends for the same spans.
func TestExporterMatchesOTLPTraceHTTP(t *testing.T) {
	ctx := context.Background()
	spans := testSpans(t)

	theirs := otlpreceiver.Start(t)
	official, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(theirs.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := official.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	_ = official.Shutdown(ctx)

	ours := otlpreceiver.Start(t)
	e, err := newExporter(ours.URL+"/v1/traces", envOf(nil), "presignd/test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	want, got := theirs.Requests(), ours.Requests()
	if len(want) != 1 || len(got) != 1 {
		t.Fatalf("exports: official %d, presignd %d; want one each", len(want), len(got))
	}
	w, g := normalized(t, want[0]), normalized(t, got[0])
	if !proto.Equal(w, g) {
		t.Errorf("presignd's export differs from otlptracehttp's\nofficial:\n%s\npresignd:\n%s", prototext.Format(w), prototext.Format(g))
	}
	if n := len(ours.Spans()); n != 5 {
		t.Errorf("%d spans arrived, want 5", n)
	}
}

func TestExporterSettings(t *testing.T) {
	var seen atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Clone(context.Background()))
	}))
	defer srv.Close()
	env := envOf(map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":        "x-api-key=general,x-tenant=t%201",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-api-key=s%3Dcret, x-other = 2 ",
		"OTEL_EXPORTER_OTLP_COMPRESSION":    "gzip",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1500",
	})
	e, err := newExporter(srv.URL+"/v1/traces", env, "presignd/test")
	if err != nil {
		t.Fatal(err)
	}
	if e.timeout != 1500*time.Millisecond || !e.gzip {
		t.Errorf("timeout %s gzip %v, want 1.5s and gzip", e.timeout, e.gzip)
	}
	if err := e.ExportSpans(context.Background(), testSpans(t)); err != nil {
		t.Fatal(err)
	}
	r := seen.Load()
	for k, v := range map[string]string{
		"X-Api-Key": "s=cret", "X-Other": "2", "X-Tenant": "", "Content-Encoding": "gzip",
		"Content-Type": "application/x-protobuf", "User-Agent": "presignd/test",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s: %q, want %q (the signal's own variable replaces the general one)", k, got, v)
		}
	}
}

func TestExporterRefusesSettings(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key"}, "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not name=value"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "a=1,bad key=secret-value"}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 2"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=%zz-secret-value"}, "entry 1"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=x%0d%0aInjected: secret-value"}, "entry 1"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, `OTEL_EXPORTER_OTLP_TIMEOUT="10s" is not a positive number of milliseconds`},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "gzip or none"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(dir, "missing.pem")}, "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": notPEM}, "holds no PEM certificate"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": notPEM}, "go together"},
	} {
		_, err := newExporter("http://127.0.0.1:9/v1/traces", envOf(tc.env), "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newExporter(%v): %v; want an error with %q", tc.env, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret-value") {
			t.Errorf("newExporter(%v): the error shows a header value: %v", tc.env, err)
		}
	}
}

// A collector that is overloaded is tried again after its Retry-After; one that
// refuses the batch is not.
func TestExporterRetries(t *testing.T) {
	var calls atomic.Int32
	status := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if s := int(status.Load()); s != 0 && n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(s)
		} else if s == http.StatusBadRequest {
			w.WriteHeader(s)
		}
	}))
	defer srv.Close()
	e, err := newExporter(srv.URL+"/v1/traces", envOf(nil), "t")
	if err != nil {
		t.Fatal(err)
	}
	e.backoff = time.Millisecond
	for _, s := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		calls.Store(0)
		status.Store(int32(s))
		start := time.Now()
		if err := e.ExportSpans(context.Background(), testSpans(t)); err != nil {
			t.Errorf("after one %d: %v", s, err)
		}
		if calls.Load() != 2 || time.Since(start) < time.Second {
			t.Errorf("after one %d: %d calls in %s, want 2 after the 1 s Retry-After", s, calls.Load(), time.Since(start))
		}
	}
	calls.Store(0)
	status.Store(http.StatusBadRequest)
	var perm *permanentError
	if err := e.ExportSpans(context.Background(), testSpans(t)); !errors.As(err, &perm) || calls.Load() != 1 {
		t.Errorf("a 400: %v after %d calls, want a permanent error after 1", err, calls.Load())
	}
	// Nothing listening: tried maxAttempts times, then the error.
	dead, err := newExporter("http://127.0.0.1:9/v1/traces", envOf(nil), "t")
	if err != nil {
		t.Fatal(err)
	}
	dead.backoff = time.Millisecond
	if err := dead.ExportSpans(context.Background(), testSpans(t)); err == nil {
		t.Errorf("an export to a closed port succeeded")
	}
	// After Shutdown, nothing is sent.
	calls.Store(0)
	status.Store(0)
	_ = e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), testSpans(t)); err != nil || calls.Load() != 0 {
		t.Errorf("after Shutdown: %v, %d calls", err, calls.Load())
	}
}

// A collector that takes a batch in part says so in a 200's partial_success: the
// export reports it, with the collector's message made printable, and does not send
// the batch again (OTLP says not to). A 200 without one is a success.
func TestExporterPartialSuccess(t *testing.T) {
	var calls atomic.Int32
	var answer atomic.Pointer[coltracepb.ExportTraceServiceResponse]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, err := proto.Marshal(answer.Load())
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	e, err := newExporter(srv.URL+"/v1/traces", envOf(nil), "t")
	if err != nil {
		t.Fatal(err)
	}
	e.backoff = time.Millisecond
	for _, tc := range []struct {
		name    string
		partial *coltracepb.ExportTracePartialSuccess
		want    string // "" for no error
	}{
		{"full success", nil, ""},
		{"an empty partial success", &coltracepb.ExportTracePartialSuccess{}, ""},
		{"rejected spans", &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2, ErrorMessage: "2 spans too old\n\x1b[31m"},
			"the OTLP endpoint answered 200 OK, but rejected 2 spans: 2 spans too old??[31m"},
		{"a warning", &coltracepb.ExportTracePartialSuccess{ErrorMessage: "deprecated field"},
			"the OTLP endpoint answered 200 OK, with a warning: deprecated field"},
	} {
		calls.Store(0)
		answer.Store(&coltracepb.ExportTraceServiceResponse{PartialSuccess: tc.partial})
		err := e.ExportSpans(context.Background(), testSpans(t))
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if calls.Load() != 1 {
			t.Errorf("%s: %d calls, want 1", tc.name, calls.Load())
		}
	}
}

// The presignd binary links neither gRPC nor OpenTelemetry's exporters (which bring
// gRPC): the reason this package has an exporter of its own.
func TestBinaryLinksNoGRPC(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cannot find the go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/presignd/presignd/cmd/presignd").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "google.golang.org/grpc") || strings.HasPrefix(d, "go.opentelemetry.io/otel/exporters/") ||
			strings.HasPrefix(d, "github.com/grpc-ecosystem/") || strings.HasPrefix(d, "go.opentelemetry.io/proto/otlp/collector/") {
			t.Errorf("presignd links %s", d)
		}
	}
}
