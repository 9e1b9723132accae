package metrics_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/metrics"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkInterceptor is the metrics interceptor's cost per call over a
// handler that does nothing.
func BenchmarkInterceptor(b *testing.B) {
	m := metrics.New(metrics.NewRegistry())
	call := m.Interceptor().WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		return connect.NewResponse(&accruev1.PayOrderResponse{}), nil
	})
	req := connect.NewRequest(&accruev1.PayOrderRequest{Program: "shop"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = call(ctx, req)
	}
}
