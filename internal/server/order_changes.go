package server

import (
	"context"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/rules"
)

// orderCommand is a write request about one existing order.
type orderCommand interface {
	postingCommand
	GetOrder() string
}

// change runs an order event on an existing order: it loads and locks the
// order, refuses a cancelled one, applies fn (which adjusts the order and
// may return a plan to post), saves it and fills resp.
func (s *Server) change(ctx context.Context, req orderCommand, resp orderResponse,
	fn func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error)) error {
	orderID := req.GetOrder()
	if err := checkRef("order", orderID); err != nil {
		return err
	}
	replayed, err := s.execPosting(ctx, req, affiliate.KindAdjustment, resp, func(tx pgx.Tx, ev event) error {
		at := ev.at
		o, err := loadOrder(ctx, tx, req.GetProgram(), orderID)
		if err != nil {
			return err
		}
		if o.Status == statusCancelled {
			return fault.Precondition("order", "order %q is cancelled", orderID)
		}
		// An accrued order keeps the version it accrued under; before that,
		// the version in force now reads the amounts.
		var prog *rules.Program
		if o.Accrued {
			prog, err = s.rulesVersion(ctx, tx, req.GetProgram(), o.Version)
		} else {
			_, prog, err = s.versionAt(ctx, tx, req.GetProgram(), at)
		}
		if err != nil {
			return err
		}
		plan, err := fn(tx, ev, o, prog)
		if err != nil {
			return err
		}
		if plan != nil && o.Accrued && o.earns() {
			if err := s.postPlan(ctx, tx, ev, o, prog, *plan); err != nil {
				return err
			}
		}
		if err := saveOrder(ctx, tx, req.GetProgram(), o); err != nil {
			return err
		}
		view, err := s.orderView(ctx, tx, ev.journal, o, false)
		if err != nil {
			return err
		}
		resp.setOrder(view)
		return nil
	})
	resp.setReplayed(replayed)
	return err
}

// orderResponse is a response that carries the order.
type orderResponse interface {
	proto.Message
	setOrder(*accruev1.Order)
	setReplayed(bool)
}

type (
	completeResponse struct {
		*accruev1.CompleteOrderResponse
	}
	refundResponse struct{ *accruev1.RefundOrderResponse }
	amendResponse  struct{ *accruev1.AmendOrderResponse }
	cancelResponse struct{ *accruev1.CancelOrderResponse }
)

func (r completeResponse) setOrder(o *accruev1.Order) { r.Order = o }
func (r refundResponse) setOrder(o *accruev1.Order)   { r.Order = o }
func (r amendResponse) setOrder(o *accruev1.Order)    { r.Order = o }
func (r cancelResponse) setOrder(o *accruev1.Order)   { r.Order = o }
func (r completeResponse) setReplayed(b bool)         { r.Replayed = b }
func (r refundResponse) setReplayed(b bool)           { r.Replayed = b }
func (r amendResponse) setReplayed(b bool)            { r.Replayed = b }
func (r cancelResponse) setReplayed(b bool)           { r.Replayed = b }

// CompleteOrder marks a paid order completed; an earning order that has not
// accrued yet accrues now.
func (s *orderService) CompleteOrder(ctx context.Context, req *connect.Request[accruev1.CompleteOrderRequest]) (*connect.Response[accruev1.CompleteOrderResponse], error) {
	m := req.Msg
	resp := &accruev1.CompleteOrderResponse{}
	err := s.change(ctx, m, completeResponse{resp}, func(tx pgx.Tx, ev event, o *order, _ *rules.Program) (*rules.Plan, error) {
		if o.Status == statusCompleted {
			return nil, fault.Precondition("order", "order %q is already completed", o.ID)
		}
		o.Status = statusCompleted
		// Whichever event the rules accrue on, both have happened now: an
		// earning order that has not accrued (accrue_on: completed, or a
		// rules change between payment and completion) accrues here.
		if o.earns() && !o.Accrued {
			return nil, s.accrue(ctx, tx, ev, o)
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// RefundOrder refunds part of an order (lines and/or shipping); an accrued
// order posts the commission it no longer earns back.
func (s *orderService) RefundOrder(ctx context.Context, req *connect.Request[accruev1.RefundOrderRequest]) (*connect.Response[accruev1.RefundOrderResponse], error) {
	m := req.Msg
	resp := &accruev1.RefundOrderResponse{}
	err := s.change(ctx, m, refundResponse{resp}, func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		lines, shipping, err := parseLines(prog, m.GetLines(), m.GetShipping(), false)
		if err != nil {
			return nil, err
		}
		if len(lines) == 0 && shipping.IsZero() {
			return nil, fault.Invalid("lines", "nothing to refund: give lines or shipping")
		}
		if !o.Accrued {
			o.Lines, o.Shipping, err = prog.RefundLines(o.Lines, o.Shipping, lines, shipping)
			return nil, rulesFault(err)
		}
		state, plan, err := prog.Refund(*o.State, lines, shipping)
		if err != nil {
			return nil, rulesFault(err)
		}
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// AmendOrder changes an order's lines; an accrued order posts the
// difference in commission.
func (s *orderService) AmendOrder(ctx context.Context, req *connect.Request[accruev1.AmendOrderRequest]) (*connect.Response[accruev1.AmendOrderResponse], error) {
	m := req.Msg
	resp := &accruev1.AmendOrderResponse{}
	err := s.change(ctx, m, amendResponse{resp}, func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		lines, _, err := parseLines(prog, m.GetLines(), "", true)
		if err != nil {
			return nil, err
		}
		if !o.Accrued {
			o.Lines, err = prog.AmendLines(lines)
			return nil, rulesFault(err)
		}
		state, plan, err := prog.Amend(*o.State, lines)
		if err != nil {
			return nil, rulesFault(err)
		}
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// CancelOrder cancels an order; an accrued order posts back everything it
// earned.
func (s *orderService) CancelOrder(ctx context.Context, req *connect.Request[accruev1.CancelOrderRequest]) (*connect.Response[accruev1.CancelOrderResponse], error) {
	m := req.Msg
	resp := &accruev1.CancelOrderResponse{}
	err := s.change(ctx, m, cancelResponse{resp}, func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		o.Status = statusCancelled
		if !o.Accrued {
			return nil, nil
		}
		state, plan := prog.Cancel(*o.State)
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}
