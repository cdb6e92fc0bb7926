// Package otlpreceiver is an OTLP/HTTP trace receiver for tests: it takes what an
// OpenTelemetry exporter sends to /v1/traces (OTLP/HTTP, protobuf, gzipped or not),
// decodes it with OTLP's own protobuf types and keeps the spans.
package otlpreceiver

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span with the resource and scope it came with.
type Span struct {
	*tracepb.Span
	Resource map[string]string // string attributes of the resource
	Scope    string
}

// Attr returns a span attribute's value as text ("" when it is absent).
func (s Span) Attr(key string) string { return attrString(s.Attributes, key) }

// TraceIDHex and friends are the IDs as the audit log and exemplars spell them.
func (s Span) TraceIDHex() string      { return fmt.Sprintf("%x", s.TraceId) }
func (s Span) SpanIDHex() string       { return fmt.Sprintf("%x", s.SpanId) }
func (s Span) ParentSpanIDHex() string { return fmt.Sprintf("%x", s.ParentSpanId) }

func attrString(attrs []*commonpb.KeyValue, key string) string {
	for _, kv := range attrs {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return fmt.Sprint(v.IntValue)
		case *commonpb.AnyValue_BoolValue:
			return fmt.Sprint(v.BoolValue)
		case *commonpb.AnyValue_DoubleValue:
			return fmt.Sprint(v.DoubleValue)
		default:
			return kv.Value.String()
		}
	}
	return ""
}

// Receiver is a running receiver.
type Receiver struct {
	// URL is the base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu        sync.Mutex
	spans     []Span
	exports   int
	encodings map[string]int // Content-Type (+ "+gzip") -> exports
	raw       [][]byte       // the bodies, decompressed
	errs      []error
	header    [2]string // a header every request must carry (RequireHeader)
}

// RequireHeader makes the receiver answer 401 to a request without the header name
// with this value, as a collector behind an API key does.
func (r *Receiver) RequireHeader(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.header = [2]string{name, value}
}

// Requests returns the decompressed bodies of the exports received so far, each an
// ExportTraceServiceRequest.
func (r *Receiver) Requests() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.raw...)
}

// Start runs a receiver on loopback until the test ends. A request it cannot decode
// fails the test (at the end, from the test's goroutine).
func Start(t testing.TB) *Receiver {
	r := &Receiver{encodings: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, err := range r.errs {
			t.Errorf("OTLP receiver: %v", err)
		}
	})
	return r
}

func (r *Receiver) fail(w http.ResponseWriter, status int, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	http.Error(w, err.Error(), status)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		r.fail(w, http.StatusNotFound, fmt.Errorf("%s %s: not the OTLP traces path", req.Method, req.URL.Path))
		return
	}
	r.mu.Lock()
	want := r.header
	r.mu.Unlock()
	if want[0] != "" && req.Header.Get(want[0]) != want[1] {
		r.fail(w, http.StatusUnauthorized, fmt.Errorf("a request without the %s header the receiver requires", want[0]))
		return
	}
	var body io.Reader = req.Body
	enc := req.Header.Get("Content-Type")
	switch ce := req.Header.Get("Content-Encoding"); ce {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.fail(w, http.StatusBadRequest, fmt.Errorf("gzip: %v", err))
			return
		}
		body = zr
		enc += "+gzip"
	default:
		r.fail(w, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q", ce))
		return
	}
	data, err := io.ReadAll(body)
	if err != nil {
		r.fail(w, http.StatusBadRequest, err)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		err = fmt.Errorf("the Content-Type %q is not OTLP/HTTP's protobuf", ct)
	} else {
		err = proto.Unmarshal(data, &msg)
	}
	if err != nil {
		r.fail(w, http.StatusBadRequest, fmt.Errorf("decoding an export: %v", err))
		return
	}
	r.mu.Lock()
	r.exports++
	r.encodings[enc]++
	for _, rs := range msg.ResourceSpans {
		res := map[string]string{}
		if rs.Resource != nil {
			for _, kv := range rs.Resource.Attributes {
				res[kv.Key] = attrString(rs.Resource.Attributes, kv.Key)
			}
		}
		for _, ss := range rs.ScopeSpans {
			scope := ""
			if ss.Scope != nil {
				scope = ss.Scope.Name
			}
			for _, s := range ss.Spans {
				r.spans = append(r.spans, Span{Span: s, Resource: res, Scope: scope})
			}
		}
	}
	r.raw = append(r.raw, data)
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Encodings counts the exports received by Content-Type, with "+gzip" when
// compressed.
func (r *Receiver) Encodings() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.encodings))
	for k, v := range r.encodings {
		m[k] = v
	}
	return m
}

// WaitFor waits until at least n spans have arrived and returns them, or fails the
// test after within.
func (r *Receiver) WaitFor(t testing.TB, n int, within time.Duration) []Span {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		spans := r.Spans()
		if len(spans) >= n {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans arrived within %s, want at least %d", len(spans), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
