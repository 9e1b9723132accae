package telemetry

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Environment variables that turn tracing on (the OpenTelemetry
// specification's); the exporter reads the rest of its settings
// (OTEL_EXPORTER_OTLP_HEADERS, ..._TIMEOUT, ..._INSECURE) itself.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Tracing is accrued's tracer provider, or none when tracing is off.
type Tracing struct {
	provider *sdktrace.TracerProvider
}

// NewTracing starts tracing when getenv finds an OTLP endpoint: spans of
// every RPC (otelconnect) and every SQL statement (otelpgx) are batched and
// exported over OTLP/HTTP (protobuf), named by service "accrued" at
// version. Without an endpoint it returns a Tracing that is off: no
// exporter is made and nothing is dialed.
func NewTracing(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	if getenv(EnvEndpoint) == "" && getenv(EnvTracesEndpoint) == "" {
		return &Tracing{}, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName("accrued"), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return &Tracing{provider: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))}, nil
}

// On reports whether spans are exported.
func (t *Tracing) On() bool { return t.provider != nil }

// Interceptor traces every RPC (a server span per call, with the W3C
// trace context of the caller), or is nil when tracing is off.
func (t *Tracing) Interceptor() (connect.Interceptor, error) {
	if !t.On() {
		return nil, nil
	}
	i, err := otelconnect.NewInterceptor(otelconnect.WithTracerProvider(t.provider),
		otelconnect.WithPropagator(propagation.TraceContext{}), otelconnect.WithoutMetrics())
	if err != nil {
		return nil, fmt.Errorf("telemetry: otelconnect: %w", err)
	}
	return i, nil
}

// QueryTracer traces every SQL statement as a child of the RPC's span
// (without its arguments: they may hold bank details), or is nil when
// tracing is off.
func (t *Tracing) QueryTracer() pgx.QueryTracer {
	if !t.On() {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.provider), otelpgx.WithDisableQuerySpanNamePrefix())
}

// Shutdown flushes the spans not exported yet and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
