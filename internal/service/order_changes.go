package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/rules"
)

// OrderChange names an existing order and when the event happened.
type OrderChange struct {
	Order string
	At    time.Time // validated by the caller
}

// RefundOrderInput is a refund of part of an order: lines and/or shipping.
type RefundOrderInput struct {
	OrderChange
	Lines    []OrderLine
	Shipping string
}

// AmendOrderInput is an order's new lines.
type AmendOrderInput struct {
	OrderChange
	Lines []OrderLine
}

// pinned is the rules an order event reads amounts under: the version an
// accrued order accrued under, before that the version in force at the
// event.
type pinned struct {
	version int32
	rules   *rules.Program
}

// changeFunc applies an order event to o under its pinned rules; it
// returns the order's new state and, for an accrued order, the plan to
// post (nil for none).
type changeFunc func(tx pgx.Tx, pc PostingCommand, o affiliate.Order, p pinned) (affiliate.Order, *rules.Plan, error)

// change runs an order event on an existing order: it loads and locks the
// order, refuses a cancelled one, applies fn, posts its plan when the
// order earns, and saves the order.
// event is the outbox event it reports (changeEvents).
func (s *Service) change(ctx context.Context, c Command, in OrderChange, event string, encode Encode[OrderView], fn changeFunc) (Reply, error) {
	return s.inTx(ctx, c, func(tx pgx.Tx) (Reply, error) { return s.changeIn(ctx, tx, c, in, event, encode, fn) })
}

// changeIn is change in the caller's transaction tx.
func (s *Service) changeIn(ctx context.Context, tx pgx.Tx, c Command, in OrderChange, event string, encode Encode[OrderView], fn changeFunc) (Reply, error) {
	return execPostingIn(ctx, tx, s, c, in.At, affiliate.KindAdjustment, encode, func(tx pgx.Tx, pc PostingCommand) (OrderView, error) {
		o, err := loadOrder(ctx, tx, pc.Program, in.Order, store.ForUpdate)
		if err != nil {
			return OrderView{}, err
		}
		if err := o.CheckOpen(); err != nil {
			return OrderView{}, err
		}
		p := pinned{version: o.Version}
		if o.Accrued {
			p.rules, err = s.RulesVersion(ctx, tx, pc.Program, o.Version)
		} else {
			p.version, p.rules, err = s.VersionAt(ctx, tx, pc.Program, pc.At)
		}
		if err != nil {
			return OrderView{}, err
		}
		accrued := o.Accrued
		o, plan, err := fn(tx, pc, o, p)
		if err != nil {
			return OrderView{}, err
		}
		if plan != nil && o.Accrued && o.Earns() {
			if err := postPlan(ctx, tx, pc, o, *plan); err != nil {
				return OrderView{}, err
			}
		}
		if err := store.SaveOrder(ctx, tx, pc.Program, o); err != nil {
			return OrderView{}, err
		}
		view := OrderView{Order: o, Scale: pc.Journal.Scale}
		return view, s.emitOrderEvents(ctx, tx, pc.Program, view, changeEvents(event, accrued, o)...)
	})
}

// changeEvents are the events of an order change: order.accrued when it
// accrued the order (a completion), else the change's own event
// (order.adjusted for a refund, amendment or cancellation; none for a
// completion that accrued nothing).
func changeEvents(event string, accruedBefore bool, o affiliate.Order) []string {
	switch {
	case o.Accrued && !accruedBefore:
		return []string{EventOrderAccrued}
	case event == "":
		return nil
	default:
		return []string{event}
	}
}

// CompleteOrder marks a paid order completed; an earning order that has
// not accrued yet accrues now, under the version in force at the event.
func (s *Service) CompleteOrder(ctx context.Context, c Command, in OrderChange, encode Encode[OrderView]) (Reply, error) {
	return s.change(ctx, c, in, "", encode, s.completeFunc(ctx))
}

// completeFunc is CompleteOrder's change.
func (s *Service) completeFunc(ctx context.Context) changeFunc {
	return func(tx pgx.Tx, pc PostingCommand, o affiliate.Order, p pinned) (affiliate.Order, *rules.Plan, error) {
		if err := o.Complete(); err != nil {
			return o, nil, err
		}
		// Whichever event the rules accrue on, both have happened now: an
		// earning order that has not accrued (accrue_on: completed, or a
		// rules change between payment and completion) accrues here.
		if !o.Earns() || o.Accrued {
			return o, nil, nil
		}
		earner, err := loadEarner(ctx, tx, pc.Program, o.Partner, "partner", true)
		if err != nil {
			return o, nil, err
		}
		o, err = s.accrue(ctx, tx, pc, o, earner, p.version, p.rules)
		return o, nil, err
	}
}

// RefundOrder refunds part of an order (lines and/or shipping); an accrued
// order posts the commission it no longer earns back.
func (s *Service) RefundOrder(ctx context.Context, c Command, in RefundOrderInput, encode Encode[OrderView]) (Reply, error) {
	return s.change(ctx, c, in.OrderChange, EventOrderAdjusted, encode, refundFunc(in))
}

// refundFunc is RefundOrder's change.
func refundFunc(in RefundOrderInput) changeFunc {
	return func(_ pgx.Tx, _ PostingCommand, o affiliate.Order, p pinned) (affiliate.Order, *rules.Plan, error) {
		lines, shipping, err := parseLines(p.rules, in.Lines, in.Shipping, false)
		if err != nil {
			return o, nil, err
		}
		if len(lines) == 0 && shipping.IsZero() {
			return o, nil, fault.InvalidArgument("lines", "nothing to refund: give lines or shipping")
		}
		if !o.Accrued {
			var left []rules.Line
			var shippingLeft decimal.Decimal
			left, shippingLeft, err = p.rules.RefundLines(o.Lines, o.Shipping, lines, shipping)
			if err != nil {
				return o, nil, rulesFault(err)
			}
			o.Lines, o.Shipping = left, shippingLeft
			return o, nil, nil
		}
		state, plan, err := p.rules.Refund(*o.State, lines, shipping)
		if err != nil {
			return o, nil, rulesFault(err)
		}
		o.SetState(state)
		return o, &plan, nil
	}
}

// AmendOrder changes an order's lines; an accrued order posts the
// difference in commission.
func (s *Service) AmendOrder(ctx context.Context, c Command, in AmendOrderInput, encode Encode[OrderView]) (Reply, error) {
	return s.change(ctx, c, in.OrderChange, EventOrderAdjusted, encode, amendFunc(in))
}

// amendFunc is AmendOrder's change.
func amendFunc(in AmendOrderInput) changeFunc {
	return func(_ pgx.Tx, _ PostingCommand, o affiliate.Order, p pinned) (affiliate.Order, *rules.Plan, error) {
		lines, _, err := parseLines(p.rules, in.Lines, "", true)
		if err != nil {
			return o, nil, err
		}
		if !o.Accrued {
			amended, err := p.rules.AmendLines(lines)
			if err != nil {
				return o, nil, rulesFault(err)
			}
			o.Lines = amended
			return o, nil, nil
		}
		state, plan, err := p.rules.Amend(*o.State, lines)
		if err != nil {
			return o, nil, rulesFault(err)
		}
		o.SetState(state)
		return o, &plan, nil
	}
}

// CancelOrder cancels an order; an accrued order posts back everything it
// earned.
func (s *Service) CancelOrder(ctx context.Context, c Command, in OrderChange, encode Encode[OrderView]) (Reply, error) {
	return s.change(ctx, c, in, EventOrderAdjusted, encode, cancelFunc)
}

// cancelFunc is CancelOrder's change.
func cancelFunc(_ pgx.Tx, _ PostingCommand, o affiliate.Order, p pinned) (affiliate.Order, *rules.Plan, error) {
	o.Cancel()
	if !o.Accrued {
		return o, nil, nil
	}
	state, plan := p.rules.Cancel(*o.State)
	o.SetState(state)
	return o, &plan, nil
}
