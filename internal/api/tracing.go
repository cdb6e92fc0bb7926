package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/presignd/presignd/internal/auditlog"
	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/signer"
)

// traced wraps the API handler in a server span per request when tracing is on. The
// span is named by the method alone until routing has found the route pattern
// (nameSpan); a request that matches no route keeps that name, as OpenTelemetry's
// HTTP conventions say. The admin routes are never traced, so that probes and
// scrapes do not fill the traces.
func (s *Server) traced(h http.Handler) http.Handler {
	if s.tracer == nil {
		return h
	}
	return otelhttp.NewHandler(h, "presignd",
		otelhttp.WithTracerProvider(s.tracer),
		otelhttp.WithPropagators(s.propagator),
		// presignd's own metrics are Prometheus's; otelhttp's would be a second set.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return !isAdminPath(r.URL.Path) }),
	)
}

func isAdminPath(p string) bool {
	return p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// nameSpan completes the request's span once it has been served: its client
// (clientAddress: otelhttp takes the first X-Forwarded-For entry of any request,
// which any caller can write), and, when routing found a route, its name by the route
// pattern. On a route with parameters, url.path becomes the pattern too: the raw path
// holds an object key or an upload ID, which belong in the audit log, not in traces.
func (s *Server) nameSpan(ctx context.Context, r *http.Request, route string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(semconv.ClientAddress(clientAddress(r, s.state.Load().identity.id.Proxy)))
	if route == "" {
		return
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route))
	if strings.ContainsAny(route, "{*") {
		span.SetAttributes(semconv.URLPath(route))
	}
}

// clientAddress is the address of the request's client: its peer's, or, when the peer
// is a trusted proxy (identity.trusted_proxies), the last address in X-Forwarded-For,
// the one that proxy appended; the peer's when that is no IP address.
func clientAddress(r *http.Request, proxy *identity.Proxy) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if proxy == nil || !proxy.Trusted(r) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	if len(values) == 0 {
		return peer
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	last = strings.TrimSpace(last)
	if a, err := netip.ParseAddr(last); err == nil {
		return a.String()
	}
	if ap, err := netip.ParseAddrPort(last); err == nil {
		return ap.Addr().String()
	}
	return peer
}

// observeWithExemplar records a duration with the trace and span IDs of a sampled
// request as its exemplar, so that a latency bucket leads to a trace.
func observeWithExemplar(ctx context.Context, o prometheus.Observer, v float64) {
	sc := trace.SpanContextFromContext(ctx)
	eo, ok := o.(prometheus.ExemplarObserver)
	if !sc.IsSampled() || !ok {
		o.Observe(v)
		return
	}
	eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()})
}

// appendTraceFields appends the audit line's trace_id and span_id when the request is
// part of a trace (tracing is on, and the request was sampled or came with a trace
// context).
func (s *Server) appendTraceFields(ctx context.Context, fields []auditlog.Field) []auditlog.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return fields
	}
	return append(fields, auditlog.String("trace_id", sc.TraceID().String()), auditlog.String("span_id", sc.SpanID().String()))
}

// tracerName is the instrumentation scope of presignd's own spans.
const tracerName = "github.com/presignd/presignd/internal/api"

// tracedS3 gives each S3 call presignd makes a client span, a child of the request's:
// named by the S3 operation, with the bucket, never the key or the upload ID (they
// are in the audit log), and an error status when the call fails.
type tracedS3 struct {
	Presigner
	tracer trace.Tracer
}

func (t tracedS3) start(ctx context.Context, op, bucket string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, "S3 "+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		semconv.RPCSystemNameKey.String("aws-api"), semconv.RPCMethod("S3/"+op),
		attribute.String("aws.s3.bucket", bucket),
	))
}

// endSpan ends an S3 call's span. A failure is told by its problem code (s3_timeout,
// upload_not_found, ...), never by S3's message, which may hold the request's URL.
func endSpan(span trace.Span, err error) {
	if err != nil {
		code := asError(s3Problem(err)).Code
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

func (t tracedS3) CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (string, error) {
	ctx, span := t.start(ctx, "CreateMultipartUpload", bucket)
	id, err := t.Presigner.CreateMultipartUpload(ctx, bucket, key, contentType)
	endSpan(span, err)
	return id, err
}

func (t tracedS3) ListParts(ctx context.Context, bucket, key, uploadID string) ([]signer.Part, error) {
	ctx, span := t.start(ctx, "ListParts", bucket)
	parts, err := t.Presigner.ListParts(ctx, bucket, key, uploadID)
	endSpan(span, err)
	return parts, err
}

func (t tracedS3) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []signer.Part) (string, error) {
	ctx, span := t.start(ctx, "CompleteMultipartUpload", bucket)
	etag, err := t.Presigner.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts)
	endSpan(span, err)
	return etag, err
}

func (t tracedS3) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	ctx, span := t.start(ctx, "AbortMultipartUpload", bucket)
	err := t.Presigner.AbortMultipartUpload(ctx, bucket, key, uploadID)
	endSpan(span, err)
	return err
}
