package tracing

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, ""},
		{"only headers", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=secret"}, ""},
		{"only a sampler", map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, ""},
		{"base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces"},
		{"base endpoint with a slash", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/otlp/"}, "https://collector:4318/otlp/v1/traces"},
		{"traces endpoint as it is", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom"}, "http://collector:4318/custom"},
		{"traces endpoint wins", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://a:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces",
		}, "http://b:4318/v1/traces"},
		{"otlp without an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, DefaultEndpoint},
		{"none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ""},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ""},
		{"sdk not disabled", map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318/v1/traces"},
		{"protobuf protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http://c:4318/v1/traces"},
		{"ratio sampler", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, "http://c:4318/v1/traces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Endpoint(envOf(tc.env))
			if err != nil || got != tc.want {
				t.Fatalf("Endpoint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEndpointRefuses(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // in the error
	}{
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, `OTEL_TRACES_EXPORTER="zipkin"`},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, "by OTLP (otlp) or not at all (none)"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "is not an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:secret-value@collector:4318"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318?api_key=secret-value"}, "holds a user, a query or a fragment"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces#secret-value"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT holds"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "secret-value:4318"}, "is not an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "as protobuf only"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http"}, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http"`},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "sometimes"}, "not a sampler"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "between 0 and 1"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "between 0 and 1"},
	} {
		got, err := Endpoint(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Endpoint(%v) = %q, %v; want an error with %q", tc.env, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Endpoint(%v): the error is more than one line: %q", tc.env, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("Endpoint(%v): the error shows the value: %q", tc.env, err)
		}
	}
}

func TestFromOff(t *testing.T) {
	tr, err := From(context.Background(), envOf(nil), "test", slog.New(slog.DiscardHandler))
	if err != nil || tr != nil {
		t.Fatalf("From with no OTEL_* variables = %v, %v; want nil, nil", tr, err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of no tracing: %v", err)
	}
}

func TestFromOn(t *testing.T) {
	env := envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
	tr, err := From(context.Background(), env, "test", slog.New(slog.DiscardHandler))
	if err != nil || tr == nil {
		t.Fatalf("From = %v, %v; want tracing", tr, err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "x")
	if !span.SpanContext().IsSampled() {
		t.Errorf("a root span is not sampled under the default sampler")
	}
	span.End()
	// Nothing listens on port 9: the shutdown's export fails within its context.
	ctx, cancel := context.WithTimeout(context.Background(), 2e9)
	defer cancel()
	_ = tr.Shutdown(ctx)
	if err2 := tr.Shutdown(ctx); err2 != tr.err {
		t.Errorf("a second Shutdown returned %v, the first %v", err2, tr.err)
	}
}
