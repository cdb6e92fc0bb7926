// Package tracing turns OpenTelemetry's standard environment variables into a tracer
// provider that exports spans over OTLP/HTTP, or into nothing at all.
//
// Tracing is off unless the environment says where spans go: OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or OTEL_TRACES_EXPORTER is "otlp" (which
// means the specification's default, http://localhost:4318). OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off whatever else is set. When it is off, From
// returns nil and presignd has no exporter, no tracer and no propagator.
//
// The exporter (otlp.go) sends protobuf over HTTP and reads, beside the endpoint,
// OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT, _COMPRESSION (gzip or none),
// _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY. The SDK reads OTEL_TRACES_SAMPLER
// and its argument, OTEL_BSP_*, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the
// process environment; the rest is read through the getenv given to From (in presignd
// serve, the process environment too). A value the SDK would only warn about
// at run time (a protocol or a sampler it does not know, an endpoint that is not a
// URL, a malformed header list) is refused here, so that a mistake stops presignd at
// start with one sentence instead of silently exporting nothing.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is a configured tracer provider and the propagator of incoming trace
// context: W3C traceparent and tracestate, nothing else (no baggage).
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	sdk        *sdktrace.TracerProvider
	once       sync.Once
	err        error
}

// Shutdown exports the spans still buffered and stops the exporter. Calls after the
// first return the first one's result.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.once.Do(func() { t.err = t.sdk.Shutdown(ctx) })
	return t.err
}

// DefaultEndpoint is where spans go when OTEL_TRACES_EXPORTER=otlp names no endpoint:
// the OTLP/HTTP default of the OpenTelemetry specification.
const DefaultEndpoint = "http://localhost:4318/v1/traces"

// Endpoint is the URL spans are sent to, or "" when the environment turns tracing
// off. It refuses settings that would leave tracing half on. It reads only getenv.
func Endpoint(getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv("OTEL_SDK_DISABLED")); strings.EqualFold(v, "true") {
		return "", nil
	}
	exporter := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	switch exporter {
	case "none":
		return "", nil
	case "", "otlp":
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER=%q: presignd exports traces by OTLP (otlp) or not at all (none)", exporter)
	}
	endpoint := ""
	// The signal's own variable is used as it is; the general one is a base URL to
	// which the signal's path is added (the specification's rule).
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		// The value is not echoed: a mistaken one may hold a credential. For the same
		// reason a user, a query or a fragment is refused: the URL appears in the
		// exporter's errors, which are logged.
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("%s is not an http:// or https:// URL of a host", name)
		}
		if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return "", fmt.Errorf("%s holds a user, a query or a fragment; credentials go in OTEL_EXPORTER_OTLP_HEADERS", name)
		}
		if endpoint == "" {
			endpoint = v
			if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
				endpoint = strings.TrimSuffix(v, "/") + "/v1/traces"
			}
		}
	}
	if endpoint == "" {
		if exporter == "" {
			return "", nil
		}
		endpoint = DefaultEndpoint
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		switch v := strings.TrimSpace(getenv(name)); v {
		case "", "http/protobuf":
		default:
			return "", fmt.Errorf("%s=%q: presignd exports traces over OTLP/HTTP as protobuf only (http/protobuf)", name, v)
		}
	}
	if err := checkSampler(getenv); err != nil {
		return "", err
	}
	return endpoint, nil
}

func checkSampler(getenv func(string) string) error {
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	switch name {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
		arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return nil // the SDK's default ratio, 1
		}
		if r, err := strconv.ParseFloat(arg, 64); err != nil || r < 0 || r > 1 {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q is not a ratio between 0 and 1", arg)
		}
		return nil
	default:
		return fmt.Errorf("OTEL_TRACES_SAMPLER=%q is not a sampler presignd knows (always_on, always_off, traceidratio, or parentbased_ with one of those)", name)
	}
}

// From returns the tracing the environment asks for, or nil when it asks for none.
// The SDK's and the exporter's own messages go to log. version is presignd's, for the
// service.version resource attribute.
func From(ctx context.Context, getenv func(string) string, version string, log *slog.Logger) (*Tracing, error) {
	endpoint, err := Endpoint(getenv)
	if err != nil || endpoint == "" {
		return nil, err
	}
	exp, err := newExporter(endpoint, getenv, "presignd/"+version)
	if err != nil {
		return nil, err
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("presignd"), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES or OTEL_SERVICE_NAME: %w", err)
	}
	// Failed exports and the SDK's own warnings become presignd's JSON log lines.
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "error", err.Error())
	}))
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		Provider:   sdk,
		Propagator: propagation.TraceContext{},
		sdk:        sdk,
	}, nil
}
