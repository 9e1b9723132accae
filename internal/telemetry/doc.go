// Package telemetry is accrued's traces and request log: OpenTelemetry
// tracing exported by OTLP over HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set (Tracing), and one log
// line per RPC (RequestLog). Metrics are internal/metrics'. It knows the
// API only by procedure names and a request's `program` field, and never
// logs a header, a token or a message body.
package telemetry
