package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// GetOrder returns an order with its full history: every event's plan and
// every journal transaction of the order.
func (s *orderService) GetOrder(ctx context.Context, req *connect.Request[accruev1.GetOrderRequest]) (*connect.Response[accruev1.GetOrderResponse], error) {
	v, err := s.svc.GetOrder(ctx, req.Msg.GetProgram(), req.Msg.GetOrder())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetOrderResponse{Order: orderToProto(v)}), nil
}

// orderStatuses are the wire forms of the order statuses.
var orderStatuses = map[string]accruev1.OrderStatus{
	affiliate.StatusPaid:      accruev1.OrderStatus_ORDER_STATUS_PAID,
	affiliate.StatusCompleted: accruev1.OrderStatus_ORDER_STATUS_COMPLETED,
	affiliate.StatusCancelled: accruev1.OrderStatus_ORDER_STATUS_CANCELLED,
}

// orderToProto renders an order; with its history when v carries it
// (events and transactions are set only then).
func orderToProto(v service.OrderView) *accruev1.Order {
	o, scale := v.Order, v.Scale
	out := &accruev1.Order{
		Id: o.ID, Customer: o.Customer, Visitor: o.Visitor, Shipping: o.Shipping.StringFixed(scale),
		Partner: o.Partner, Attribution: o.Attribution, NoEarnReason: o.NoEarn, Accrued: o.Accrued,
		RulesVersion: o.Version, PaidAt: stamp(o.PaidAt), Status: orderStatuses[o.Status],
	}
	if o.ClickID != nil {
		out.ClickId = *o.ClickID
	}
	if o.AccruedAt != nil {
		out.AccruedAt = stamp(*o.AccruedAt)
	}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, &accruev1.OrderLine{Product: l.Product, Amount: l.Amount.StringFixed(scale)})
	}
	if o.State != nil {
		out.Tier = o.State.Tier
		for _, lv := range o.State.Upline {
			out.Upline = append(out.Upline, lv.Partner)
		}
	}
	for _, e := range v.Events {
		out.Events = append(out.Events, &accruev1.OrderEvent{Kind: e.Kind, At: stamp(e.At), TransactionId: e.TransactionID,
			Plan: planToProto(e.Plan, e.Rules, e.Version, e.Tier)})
	}
	for _, t := range v.Transactions {
		out.Transactions = append(out.Transactions, transactionToProto(t, scale))
	}
	return out
}
