package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// orderCommand is a write request about one existing order.
type orderCommand interface {
	postingCommand
	GetOrder() string
}

// orderResponse is a response that carries the order.
type orderResponse interface {
	proto.Message
	*accruev1.CompleteOrderResponse | *accruev1.RefundOrderResponse | *accruev1.AmendOrderResponse | *accruev1.CancelOrderResponse
}

// orderChange validates a command about an existing order: its order id,
// then its time.
func (s *Server) orderChange(req orderCommand) (service.OrderChange, error) {
	if err := checkRef("order", req.GetOrder()); err != nil {
		return service.OrderChange{}, err
	}
	at, err := s.at(req.GetAt())
	return service.OrderChange{Order: req.GetOrder(), At: at}, err
}

// refundInput validates a RefundOrder request.
func (s *Server) refundInput(m *accruev1.RefundOrderRequest) (service.RefundOrderInput, error) {
	in, err := s.orderChange(m)
	return service.RefundOrderInput{OrderChange: in, Lines: orderLines(m.GetLines()), Shipping: m.GetShipping()}, err
}

// amendInput validates an AmendOrder request.
func (s *Server) amendInput(m *accruev1.AmendOrderRequest) (service.AmendOrderInput, error) {
	in, err := s.orderChange(m)
	return service.AmendOrderInput{OrderChange: in, Lines: orderLines(m.GetLines())}, err
}

// orderReply decodes an order command's reply into resp, unless err
// (fresh or replayed, the reply holds the stored bytes).
func orderReply[R orderResponse](reply service.Reply, err error, resp R) (R, error) {
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	return resp, err
}

// encodeOrder is the service.Encode of an order command's response: wrap
// builds it around the order.
func encodeOrder[R orderResponse](wrap func(*accruev1.Order) R) service.Encode[service.OrderView] {
	return func(v service.OrderView) ([]byte, error) { return encodeProto(wrap(orderToProto(v))) }
}

// CompleteOrder marks a paid order completed; an earning order that has not
// accrued yet accrues now.
func (s *orderService) CompleteOrder(ctx context.Context, req *connect.Request[accruev1.CompleteOrderRequest]) (*connect.Response[accruev1.CompleteOrderResponse], error) {
	in, err := s.orderChange(req.Msg)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.CompleteOrder(ctx, commandOf(req.Msg), in, encodeOrder(func(o *accruev1.Order) *accruev1.CompleteOrderResponse {
		return &accruev1.CompleteOrderResponse{Order: o}
	}))
	resp, err := orderReply(reply, err, &accruev1.CompleteOrderResponse{})
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// RefundOrder refunds part of an order (lines and/or shipping); an accrued
// order posts the commission it no longer earns back.
func (s *orderService) RefundOrder(ctx context.Context, req *connect.Request[accruev1.RefundOrderRequest]) (*connect.Response[accruev1.RefundOrderResponse], error) {
	m := req.Msg
	in, err := s.refundInput(m)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.RefundOrder(ctx, commandOf(m), in, encodeOrder(func(o *accruev1.Order) *accruev1.RefundOrderResponse { return &accruev1.RefundOrderResponse{Order: o} }))
	resp, err := orderReply(reply, err, &accruev1.RefundOrderResponse{})
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// AmendOrder changes an order's lines; an accrued order posts the
// difference in commission.
func (s *orderService) AmendOrder(ctx context.Context, req *connect.Request[accruev1.AmendOrderRequest]) (*connect.Response[accruev1.AmendOrderResponse], error) {
	m := req.Msg
	in, err := s.amendInput(m)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.AmendOrder(ctx, commandOf(m), in, encodeOrder(func(o *accruev1.Order) *accruev1.AmendOrderResponse { return &accruev1.AmendOrderResponse{Order: o} }))
	resp, err := orderReply(reply, err, &accruev1.AmendOrderResponse{})
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// CancelOrder cancels an order; an accrued order posts back everything it
// earned.
func (s *orderService) CancelOrder(ctx context.Context, req *connect.Request[accruev1.CancelOrderRequest]) (*connect.Response[accruev1.CancelOrderResponse], error) {
	in, err := s.orderChange(req.Msg)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.CancelOrder(ctx, commandOf(req.Msg), in, encodeOrder(func(o *accruev1.Order) *accruev1.CancelOrderResponse {
		return &accruev1.CancelOrderResponse{Order: o}
	}))
	resp, err := orderReply(reply, err, &accruev1.CancelOrderResponse{})
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}
