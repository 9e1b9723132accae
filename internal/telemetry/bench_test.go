package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/telemetry"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkRequestLog is the request log's cost per call (a JSON line to
// a discarding writer) over a handler that does nothing.
func BenchmarkRequestLog(b *testing.B) {
	call := telemetry.RequestLog(slog.New(slog.NewJSONHandler(io.Discard, nil))).WrapUnary(
		func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
			return connect.NewResponse(&accruev1.PayOrderResponse{}), nil
		})
	req := connect.NewRequest(&accruev1.PayOrderRequest{Program: "shop"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = call(ctx, req)
	}
}
