package metrics

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// orderEvents names the order event each order write is.
var orderEvents = map[string]string{
	accruev1connect.OrderServicePayOrderProcedure:      "pay",
	accruev1connect.OrderServiceCompleteOrderProcedure: "complete",
	accruev1connect.OrderServiceRefundOrderProcedure:   "refund",
	accruev1connect.OrderServiceAmendOrderProcedure:    "amend",
	accruev1connect.OrderServiceCancelOrderProcedure:   "cancel",
}

// Code is the label of an RPC's outcome: "ok" or the Connect code of err
// ("invalid_argument", "unauthenticated", ...).
func Code(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// Interceptor counts and times every RPC by procedure and code, and
// counts the order events accepted. Put it first (outermost) in the
// handler's chain so that it sees every refusal, authentication's
// included.
func (m *Metrics) Interceptor() connect.Interceptor { return rpcInterceptor{m} }

type rpcInterceptor struct{ m *Metrics }

// WrapUnary times a unary call and records its outcome.
func (i rpcInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		resp, err := next(ctx, req)
		procedure := req.Spec().Procedure
		i.m.observe(procedure, err, time.Since(start))
		if event, ok := orderEvents[procedure]; ok && err == nil && !replayed(resp) {
			i.m.orderEvents.WithLabelValues(event).Inc()
		}
		return resp, err
	}
}

// WrapStreamingClient leaves clients alone: accrued only serves.
func (rpcInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler times a stream from its start to its end.
func (i rpcInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		i.m.observe(conn.Spec().Procedure, err, time.Since(start))
		return err
	}
}

func (m *Metrics) observe(procedure string, err error, took time.Duration) {
	code := Code(err)
	m.rpcs.WithLabelValues(procedure, code).Inc()
	m.rpcSeconds.WithLabelValues(procedure, code).Observe(took.Seconds())
}

// replayed reports whether a write's response says it replays an earlier
// answer (its `replayed` field).
func replayed(resp connect.AnyResponse) bool {
	if resp == nil {
		return false
	}
	msg, ok := resp.Any().(proto.Message)
	if !ok {
		return false
	}
	m := msg.ProtoReflect()
	f := m.Descriptor().Fields().ByName(protoreflect.Name("replayed"))
	return f != nil && f.Kind() == protoreflect.BoolKind && m.Get(f).Bool()
}
