package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// receiver is an OTLP/HTTP endpoint that counts the export requests it
// gets.
func receiver(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var got atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			got.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hs.Close)
	return hs, &got
}

// span records one span through the query tracer's provider, as an RPC
// would, when tracing is on.
func span(t *Tracing) {
	if !t.On() {
		return
	}
	_, s := t.provider.Tracer("test").Start(context.Background(), "rpc")
	s.End()
}

// TestTracingOffWithoutEndpoint: with no endpoint configured, tracing is
// off (no interceptor, no pgx tracer) and nothing reaches a receiver that
// the exporter would have used had one been made from the environment.
func TestTracingOffWithoutEndpoint(t *testing.T) {
	hs, got := receiver(t)
	t.Setenv(EnvEndpoint, hs.URL) // what an exporter would read itself
	tr, err := NewTracing(context.Background(), func(string) string { return "" }, "test")
	if err != nil {
		t.Fatal(err)
	}
	i, err := tr.Interceptor()
	if tr.On() || i != nil || err != nil || tr.QueryTracer() != nil {
		t.Fatalf("tracing on without an endpoint: on %v, interceptor %v, err %v", tr.On(), i, err)
	}
	span(tr)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("%d export requests with tracing off", n)
	}
}

// TestTracingExportsToEndpoint: with OTEL_EXPORTER_OTLP_ENDPOINT set,
// spans are exported there over OTLP/HTTP (flushed at Shutdown).
func TestTracingExportsToEndpoint(t *testing.T) {
	hs, got := receiver(t)
	t.Setenv(EnvEndpoint, hs.URL)
	tr, err := NewTracing(context.Background(), func(k string) string {
		if k == EnvEndpoint {
			return hs.URL
		}
		return ""
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	i, err := tr.Interceptor()
	if !tr.On() || i == nil || err != nil || tr.QueryTracer() == nil {
		t.Fatalf("tracing off with an endpoint: on %v, interceptor %v, err %v", tr.On(), i, err)
	}
	span(tr)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() == 0 {
		t.Fatal("no span exported to the endpoint")
	}
}
