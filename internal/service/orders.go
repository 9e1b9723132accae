package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// The order lifecycle (SPEC §5, §6): payment, completion, refunds,
// amendments and cancellation, each one idempotent posting command.

// OrderLine is an order line as the caller wrote it; its amount is read in
// the program's currency.
type OrderLine struct {
	Product, Amount string
}

// PayOrderInput is a paid order as the caller reports it.
type PayOrderInput struct {
	Order, Customer, Visitor string
	// CodeKey is the partner code the order names folded to lower case as
	// referral codes are matched; "" matches no partner.
	CodeKey string
	// Lead is a partner-submitted lead's id; "" for none (withLead).
	Lead     string
	Lines    []OrderLine
	Shipping string
	At       time.Time // the event's time, validated by the caller
}

// OrderView is an order as a command or a read returns it, with the scale
// of its program's currency; with history, every event (each with the
// rules it was pinned to) and every journal transaction of the order.
type OrderView struct {
	Order        affiliate.Order
	Scale        int32
	Events       []PinnedEvent
	Transactions []ledger.Transaction
}

// PinnedEvent is an order event with the rules version it was pinned to.
type PinnedEvent struct {
	store.OrderEvent
	Rules *rules.Program
}

// PayOrder records a paid order (SPEC §5): it attributes the order to a
// partner (partner code, else a click of its visitor or customer) and, when
// the rules accrue on payment and the partner may earn on it, posts the
// accrual. Concurrent orders of a program are paid together, one
// transaction for the batch (group.go, order_group.go); each is answered
// as if it had run alone.
func (s *Service) PayOrder(ctx context.Context, c Command, in PayOrderInput, encode Encode[OrderView]) (Reply, error) {
	if err := c.check(); err != nil {
		return Reply{}, err
	}
	out, err := s.orders.do(ctx, c.Program, orderCall{c: c, in: in, encode: encode})
	if err != nil {
		return Reply{}, err
	}
	return out.Reply, out.Err
}

// payOrderIn is PayOrder alone in the caller's transaction tx (an
// import's events run this way, in the import's transaction).
func (s *Service) payOrderIn(ctx context.Context, tx pgx.Tx, c Command, in PayOrderInput, encode Encode[OrderView]) (Reply, error) {
	return execPostingIn(ctx, tx, s, c, in.At, affiliate.KindAccrual, encode, func(tx pgx.Tx, pc PostingCommand) (OrderView, error) {
		version, prog, err := s.VersionAt(ctx, tx, pc.Program, pc.At)
		if err != nil {
			return OrderView{}, err
		}
		lines, shipping, err := parseLines(prog, in.Lines, in.Shipping, true)
		if err != nil {
			return OrderView{}, err
		}
		o := affiliate.NewOrder(in.Order, in.Customer, in.Visitor, lines, shipping, pc.At)
		if fresh, err := store.InsertOrder(ctx, tx, pc.Program, o); err != nil || !fresh {
			return OrderView{}, orElse(err, affiliate.AlreadyPaid(o.ID))
		}
		a, err := store.Attribute(ctx, tx, pc.Program, prog.Attribution, in.CodeKey, o.Visitor, o.Customer, pc.At)
		if err == nil {
			a, err = withLead(ctx, tx, pc.Program, in.Lead, a)
		}
		if err != nil {
			return OrderView{}, err
		}
		accrues := prog.AccrueOn == rules.AccrueOnPaid
		var p affiliate.Earner
		if a.Partner != "" {
			// Locking the partner serialises its accruals, so two orders
			// crossing a tier threshold at once each see the volume the
			// other left.
			if p, err = loadEarner(ctx, tx, pc.Program, a.Partner, "partner_code", accrues); err != nil {
				return OrderView{}, err
			}
		}
		o = o.Attribute(a, p, prog.Attribution.AllowSelfReferral)
		if o.Earns() && accrues {
			if o, err = s.accrue(ctx, tx, pc, o, p, version, prog); err != nil {
				return OrderView{}, err
			}
		}
		if err := store.SaveOrder(ctx, tx, pc.Program, o); err != nil {
			return OrderView{}, err
		}
		view := OrderView{Order: o, Scale: pc.Journal.Scale}
		return view, s.emitOrderEvents(ctx, tx, pc.Program, view, paidEvents(o)...)
	})
}

// paidEvents are the events of a payment: order.paid, and order.accrued
// when it accrued on payment.
func paidEvents(o affiliate.Order) []string {
	if o.Accrued {
		return []string{EventOrderPaid, EventOrderAccrued}
	}
	return []string{EventOrderPaid}
}

// orElse is err, or alt when err is nil.
func orElse(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// loadEarner reads the partner an order is attributed to, locking it when
// lock; fault NotFound naming field when it is gone.
func loadEarner(ctx context.Context, q ledger.Querier, program, id, field string, lock bool) (affiliate.Earner, error) {
	l := store.NoLock
	if lock {
		l = store.ForUpdate
	}
	p, err := LoadPartner(ctx, q, program, id, field, l)
	if err != nil {
		return affiliate.Earner{}, err
	}
	return affiliate.Earner{Customer: p.Customer, Status: p.Status}, nil
}

// accrue accrues an earning order for its partner p (read locked) under
// version: a suspended partner earns nothing on it; an active one gets the
// plan the rules compute from the tier and upline chain in force at the
// event, posted as the order's accrual.
func (s *Service) accrue(ctx context.Context, tx pgx.Tx, pc PostingCommand, o affiliate.Order, p affiliate.Earner, version int32, prog *rules.Program) (affiliate.Order, error) {
	o, ok := o.Eligible(p)
	if !ok {
		return o, nil
	}
	volume, err := ledger.AccountBalance(ctx, tx, pc.Program, affiliate.PartnerAccount(o.Partner, affiliate.Sales))
	if err != nil {
		return o, err
	}
	upline, err := UplineAt(ctx, tx, pc.Program, o.Partner, pc.At, len(prog.Upline))
	if err != nil {
		return o, err
	}
	facts := rules.AccrualFacts{Partner: o.Partner, Tier: prog.TierFor(volume), Lines: o.Lines, Shipping: o.Shipping, Upline: upline}
	if err := prog.CheckFacts(facts); err != nil {
		return o, rulesFault(err) // an order stored before the amount bound
	}
	state, plan := prog.Accrue(facts)
	o = o.Accrue(affiliate.Accrual{Version: version, At: pc.At, Hold: prog.Hold, State: state})
	pc.Kind = affiliate.KindAccrual
	return o, postPlan(ctx, tx, pc, o, plan)
}

// postPlan posts an order event's plan (SPEC §6, affiliate's PlanLegs) and
// records it with its provenance.
func postPlan(ctx context.Context, tx pgx.Tx, pc PostingCommand, o affiliate.Order, plan rules.Plan) error {
	rec := store.OrderEvent{Kind: pc.Kind, At: pc.At, Version: o.Version, Tier: o.State.Tier, Plan: plan}
	if legs := o.PlanLegs(plan); len(legs) >= 2 {
		t, err := pc.Post(ctx, tx, o.PlanRefs(), o.PlanMetadata(), legs)
		if err != nil {
			return err
		}
		rec.TransactionID = t.ID
	}
	return store.InsertOrderEvent(ctx, tx, pc.Program, o.ID, rec)
}

// GetOrder returns an order with its full history: every event's plan and
// every journal transaction of the order.
func (s *Service) GetOrder(ctx context.Context, program, id string) (OrderView, error) {
	var view OrderView
	err := s.db.ReadOnly(ctx, func(tx pgx.Tx) error {
		journal, err := ledger.LoadProgram(ctx, tx, program)
		if err != nil {
			return err
		}
		o, err := loadOrder(ctx, tx, journal.ID, id, store.NoLock)
		if err != nil {
			return err
		}
		view, err = s.history(ctx, tx, journal, o)
		return err
	})
	return view, err
}

// loadOrder reads an order taking lock; fault NotFound when absent.
func loadOrder(ctx context.Context, q ledger.Querier, program, id string, lock store.Lock) (affiliate.Order, error) {
	o, found, err := store.LoadOrder(ctx, q, program, id, lock)
	if err == nil && !found {
		err = fault.NotFound("order", "no order %q", id)
	}
	return o, err
}

// history is the view of o with every event's plan, read under the rules
// version it was pinned to, and every journal transaction of the order.
func (s *Service) history(ctx context.Context, q ledger.Querier, journal *ledger.Program, o affiliate.Order) (OrderView, error) {
	events, err := store.OrderEvents(ctx, q, journal.ID, o.ID)
	if err != nil {
		return OrderView{}, err
	}
	view := OrderView{Order: o, Scale: journal.Scale}
	for _, e := range events {
		prog, err := s.RulesVersion(ctx, q, journal.ID, e.Version)
		if err != nil {
			return OrderView{}, err
		}
		view.Events = append(view.Events, PinnedEvent{OrderEvent: e, Rules: prog})
	}
	view.Transactions, err = ledger.ListTransactions(ctx, q, journal.ID, ledger.TransactionFilter{Order: o.ID, Limit: ledger.PageSizeMax})
	return view, err
}
