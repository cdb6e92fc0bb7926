package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// exporter sends spans to an OTLP/HTTP endpoint as protobuf (http/protobuf).
//
// It is presignd's own because OpenTelemetry's otlptracehttp links gRPC, the gRPC
// gateway and Google's RPC protos into any program that uses it (its configuration
// is shared with the gRPC exporter): measured on presignd, 12 MB more binary, 156
// more packages and 5 MiB more resident memory at rest, for an exporter that never
// speaks gRPC. This one uses the OTLP protobuf types and the SDK's span data, and
// sends the same messages (TestExporterMatchesOTLPTraceHTTP).
type exporter struct {
	url         string
	client      *http.Client
	headers     http.Header
	gzip        bool
	timeout     time.Duration
	stopped     atomic.Bool
	maxAttempts int
	backoff     time.Duration // the first retry's wait; each next one doubles, up to 5 s
}

// newExporter reads the OTEL_EXPORTER_OTLP_* settings of the traces exporter through
// getenv; for each, the signal's own variable (OTEL_EXPORTER_OTLP_TRACES_...) wins
// over the general one.
func newExporter(endpoint string, getenv func(string) string, userAgent string) (*exporter, error) {
	get := func(name string) (string, string) {
		if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_" + name)); v != "" {
			return "OTEL_EXPORTER_OTLP_TRACES_" + name, v
		}
		return "OTEL_EXPORTER_OTLP_" + name, strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_" + name))
	}
	e := &exporter{url: endpoint, headers: http.Header{}, timeout: 10 * time.Second, maxAttempts: 5, backoff: 500 * time.Millisecond}
	if name, v := get("HEADERS"); v != "" {
		for i, entry := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(entry, "=")
			k = strings.TrimSpace(k)
			// The value is percent-decoded (the W3C Baggage format the specification
			// names). Neither it nor the entry is ever shown: it is usually a secret.
			dec, err := url.PathUnescape(strings.TrimSpace(val))
			if !ok || !validHeaderName(k) || err != nil || strings.ContainsAny(dec, "\r\n\x00") {
				return nil, fmt.Errorf("%s: entry %d is not name=value with a valid header name and a percent-encoded value", name, i+1)
			}
			e.headers.Add(k, dec)
		}
	}
	if name, v := get("TIMEOUT"); v != "" {
		ms, err := strconv.ParseUint(v, 10, 32)
		if err != nil || ms == 0 {
			return nil, fmt.Errorf("%s=%q is not a positive number of milliseconds", name, v)
		}
		e.timeout = time.Duration(ms) * time.Millisecond
	}
	switch name, v := get("COMPRESSION"); v {
	case "", "none":
	case "gzip":
		e.gzip = true
	default:
		return nil, fmt.Errorf("%s=%q: the compression is gzip or none", name, v)
	}
	tlsConf, err := exporterTLS(get)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = http.ProxyFromEnvironment
	if tlsConf != nil {
		transport.TLSClientConfig = tlsConf
	}
	e.client = &http.Client{Transport: transport}
	e.headers.Set("Content-Type", "application/x-protobuf")
	e.headers.Set("User-Agent", userAgent)
	return e, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// exporterTLS is the TLS configuration of OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE (the
// CA to trust instead of the system's) and _CLIENT_CERTIFICATE with _CLIENT_KEY (a
// client certificate), or nil when none is set.
func exporterTLS(get func(string) (string, string)) (*tls.Config, error) {
	caName, ca := get("CERTIFICATE")
	certName, cert := get("CLIENT_CERTIFICATE")
	keyName, key := get("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", caName, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", caName, ca)
		}
		conf.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("%s and %s go together", certName, keyName)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%s and %s: %w", certName, keyName, err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}

// ExportSpans sends one batch. A refused connection, 429, 502, 503 and 504 are tried
// again, after Retry-After when the endpoint gives one, while ctx and the attempts
// allow; any other answer but 2xx drops the batch with an error (the SDK reports it),
// and so does a 2xx whose partial success says spans were rejected, which OTLP says
// not to send again.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Load() || len(spans) == 0 {
		return nil
	}
	body, err := proto.Marshal(tracesData(spans))
	if err != nil {
		return fmt.Errorf("encoding %d spans: %w", len(spans), err)
	}
	if e.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return err
		}
		body = buf.Bytes()
	}
	wait := e.backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := e.send(ctx, body)
		if err == nil {
			return nil
		}
		var permanent *permanentError
		if errors.As(err, &permanent) || attempt == e.maxAttempts {
			return err
		}
		if retryAfter > 0 {
			wait = retryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting to try again: %v)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

type permanentError struct{ status string }

func (p *permanentError) Error() string { return "the OTLP endpoint answered " + p.status }

// send makes one attempt; retryAfter is the endpoint's Retry-After, if it gave one.
func (e *exporter) send(ctx context.Context, body []byte) (retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{status: err.Error()}
	}
	req.Header = e.headers.Clone()
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if res.Header.Get("Content-Type") != "application/x-protobuf" {
			return 0, nil
		}
		switch rejected, msg := partialSuccess(answer); {
		case rejected > 0:
			return 0, &permanentError{status: fmt.Sprintf("%s, but rejected %d spans: %s", res.Status, rejected, clipMessage(msg))}
		case msg != "":
			return 0, &permanentError{status: fmt.Sprintf("%s, with a warning: %s", res.Status, clipMessage(msg))}
		}
		return 0, nil
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusBadGateway,
		res.StatusCode == http.StatusServiceUnavailable, res.StatusCode == http.StatusGatewayTimeout:
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(min(s, 60)) * time.Second
		}
		return retryAfter, fmt.Errorf("the OTLP endpoint answered %s", res.Status)
	default:
		return 0, &permanentError{status: res.Status}
	}
}

// partialSuccess reads the partial_success of an ExportTraceServiceResponse (field 1):
// its rejected_spans (1) and error_message (2). An answer it cannot read, or without
// them, is a full success.
func partialSuccess(b []byte) (rejected int64, msg string) {
	ps, ok := lastField(b, 1, protowire.BytesType)
	if !ok {
		return 0, ""
	}
	ps, _ = protowire.ConsumeBytes(ps)
	if v, ok := lastField(ps, 1, protowire.VarintType); ok {
		x, _ := protowire.ConsumeVarint(v)
		rejected = int64(x)
	}
	if v, ok := lastField(ps, 2, protowire.BytesType); ok {
		s, _ := protowire.ConsumeBytes(v)
		msg = string(s)
	}
	return rejected, msg
}

// lastField returns the encoded value of the last field num of type typ in the
// protobuf message b, and false when b holds none or is malformed.
func lastField(b []byte, num protowire.Number, typ protowire.Type) ([]byte, bool) {
	var value []byte
	found := false
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, false
		}
		b = b[l:]
		l = protowire.ConsumeFieldValue(n, t, b)
		if l < 0 {
			return nil, false
		}
		if n == num && t == typ {
			value, found = b[:l], true
		}
		b = b[l:]
	}
	return value, found
}

// clipMessage is a collector's message as it may go into presignd's log: printable
// ASCII, at most 200 bytes.
func clipMessage(s string) string {
	b := make([]byte, 0, min(len(s), 200))
	for i := 0; i < len(s) && len(b) < 200; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

// Shutdown stops exporting; the SDK has flushed what it held before it calls this.
func (e *exporter) Shutdown(context.Context) error {
	e.stopped.Store(true)
	e.client.CloseIdleConnections()
	return nil
}

// tracesData groups spans by resource and instrumentation scope, as OTLP carries
// them. A TracesData message is, on the wire, an ExportTraceServiceRequest.
func tracesData(spans []sdktrace.ReadOnlySpan) *tracepb.TracesData {
	type scopeKey struct {
		res   attribute.Distinct
		scope instrumentation.Scope
	}
	resources := map[attribute.Distinct]*tracepb.ResourceSpans{}
	scopes := map[scopeKey]*tracepb.ScopeSpans{}
	out := &tracepb.TracesData{}
	for _, s := range spans {
		res := s.Resource()
		rk := res.Equivalent()
		rs, ok := resources[rk]
		if !ok {
			rs = &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: keyValues(res.Attributes())}, SchemaUrl: res.SchemaURL()}
			resources[rk] = rs
			out.ResourceSpans = append(out.ResourceSpans, rs)
		}
		sk := scopeKey{rk, s.InstrumentationScope()}
		ss, ok := scopes[sk]
		if !ok {
			ss = &tracepb.ScopeSpans{SchemaUrl: sk.scope.SchemaURL}
			if sk.scope != (instrumentation.Scope{}) {
				ss.Scope = &commonpb.InstrumentationScope{Name: sk.scope.Name, Version: sk.scope.Version, Attributes: keyValues(sk.scope.Attributes.ToSlice())}
			}
			scopes[sk] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, span(s))
	}
	return out
}

func span(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	st := s.Status()
	p := &tracepb.Span{
		TraceId:                tid[:],
		SpanId:                 sid[:],
		TraceState:             sc.TraceState().String(),
		Name:                   s.Name(),
		Kind:                   tracepb.Span_SpanKind(spanKind(s.SpanKind())),
		StartTimeUnixNano:      unixNano(s.StartTime()),
		EndTimeUnixNano:        unixNano(s.EndTime()),
		Attributes:             keyValues(s.Attributes()),
		DroppedAttributesCount: count(s.DroppedAttributes()),
		DroppedEventsCount:     count(s.DroppedEvents()),
		DroppedLinksCount:      count(s.DroppedLinks()),
		Status:                 &tracepb.Status{Code: statusCode(st.Code), Message: st.Description},
		Flags:                  flags(sc.TraceFlags(), s.Parent()),
	}
	if psid := s.Parent().SpanID(); psid.IsValid() {
		p.ParentSpanId = psid[:]
	}
	for _, ev := range s.Events() {
		p.Events = append(p.Events, &tracepb.Span_Event{
			Name: ev.Name, TimeUnixNano: unixNano(ev.Time),
			Attributes: keyValues(ev.Attributes), DroppedAttributesCount: count(ev.DroppedAttributeCount),
		})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		p.Links = append(p.Links, &tracepb.Span_Link{
			TraceId: ltid[:], SpanId: lsid[:],
			Attributes: keyValues(l.Attributes), DroppedAttributesCount: count(l.DroppedAttributeCount),
			Flags: flags(l.SpanContext.TraceFlags(), l.SpanContext),
		})
	}
	return p
}

// flags are the W3C trace flags, and whether the parent (or linked span) is remote.
func flags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if parent.IsRemote() {
		f |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return f
}

// spanKind maps the API's kinds onto OTLP's numbers, which differ by the unspecified 0.
func spanKind(k trace.SpanKind) int32 {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer:
		return int32(k)
	default:
		return 0
	}
}

func statusCode(c codes.Code) tracepb.Status_StatusCode {
	switch c {
	case codes.Ok:
		return tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		return tracepb.Status_STATUS_CODE_ERROR
	default:
		return tracepb.Status_STATUS_CODE_UNSET
	}
}

func unixNano(t time.Time) uint64 { return uint64(max(0, t.UnixNano())) }

func count(n int) uint32 { return uint32(min(max(n, 0), math.MaxUint32)) }

// keyValues converts attributes; the messages of a list are allocated together, a
// span's dozen attributes being most of an export's allocations.
func keyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(kvs))
	msgs := make([]commonpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		msgs[i].Key, msgs[i].Value = string(kv.Key), anyValue(kv.Value)
		out[i] = &msgs[i]
	}
	return out
}

func anyValue(v attribute.Value) *commonpb.AnyValue {
	array := func(n int, at func(int) *commonpb.AnyValue) *commonpb.AnyValue {
		vs := make([]*commonpb.AnyValue, n)
		for i := range vs {
			vs[i] = at(i)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	switch v.Type() {
	case attribute.EMPTY:
		return &commonpb.AnyValue{}
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return str(v.AsString())
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		s := v.AsBoolSlice()
		return array(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.BoolValue(s[i])) })
	case attribute.INT64SLICE:
		s := v.AsInt64Slice()
		return array(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.Int64Value(s[i])) })
	case attribute.FLOAT64SLICE:
		s := v.AsFloat64Slice()
		return array(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.Float64Value(s[i])) })
	case attribute.STRINGSLICE:
		s := v.AsStringSlice()
		return array(len(s), func(i int) *commonpb.AnyValue { return str(s[i]) })
	case attribute.SLICE:
		s := v.AsSlice()
		return array(len(s), func(i int) *commonpb.AnyValue { return anyValue(s[i]) })
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: keyValues(v.AsMap())}}}
	default:
		return str("INVALID")
	}
}
