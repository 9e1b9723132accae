package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// decideOrders decides each order of a batch from the facts read, in the
// batch's order, purely: its attribution, whether it earns, and its
// accrual's plan, tier and posting (keyed "cmd:" + its key, as
// PostingCommand.Post keys it). A partner's sales volume grows by each of
// its orders, so a later order of the batch sees the tier the earlier ones
// left, as it would have run after them.
func decideOrders(journal *ledger.Program, fresh []*orderItem, facts orderFacts, recorded time.Time) ([]ledger.Posting, error) {
	var postings []ledger.Posting
	for _, it := range fresh {
		prog, o := it.prog, it.order
		var p affiliate.Earner
		if it.attr.Partner != "" {
			sp := facts.partners[it.attr.Partner]
			p = affiliate.Earner{Customer: sp.Customer, Status: sp.Status}
		}
		o = o.Attribute(it.attr, p, prog.Attribution.AllowSelfReferral)
		if !o.Earns() || prog.AccrueOn != rules.AccrueOnPaid {
			it.order = o
			continue
		}
		o, ok := o.Eligible(p)
		if it.order = o; !ok {
			continue
		}
		sales := affiliate.PartnerAccount(o.Partner, affiliate.Sales)
		af := rules.AccrualFacts{Partner: o.Partner, Tier: prog.TierFor(facts.volumes[sales]), Lines: o.Lines, Shipping: o.Shipping,
			Upline: uplineMembers(o.Partner, it.upline, len(prog.Upline))}
		if err := prog.CheckFacts(af); err != nil {
			return nil, droppedCommand{it.i, rulesFault(err)} // an order stored before the amount bound
		}
		state, plan := prog.Accrue(af)
		o = o.Accrue(affiliate.Accrual{Version: it.version, At: o.PaidAt, Hold: prog.Hold, State: state})
		it.order, it.event = o, &store.OrderEvent{Kind: affiliate.KindAccrual, At: o.PaidAt, Version: o.Version, Tier: o.State.Tier, Plan: plan}
		if legs := o.PlanLegs(plan); len(legs) >= 2 {
			it.posting = len(postings)
			postings = append(postings, ledger.Posting{
				Program: journal.ID, Key: "cmd:" + it.call.c.Key, Kind: affiliate.KindAccrual, At: o.PaidAt, Period: journal.BookingPeriod(o.PaidAt),
				Refs: o.PlanRefs(), Metadata: o.PlanMetadata(), Legs: legs, RequestHash: it.call.c.Hash, Recorded: recorded,
			})
			facts.volumes[sales] = facts.volumes[sales].Add(plan.Sales)
		}
	}
	return postings, nil
}

// uplineMembers is UplineAt's answer from the ancestors read.
func uplineMembers(partner string, ancestors []store.Ancestor, levels int) []rules.UplineMember {
	if levels <= 0 {
		return nil
	}
	members := make([]rules.UplineMember, len(ancestors))
	for i, a := range ancestors {
		members[i] = rules.UplineMember{Partner: a.Partner, Eligible: affiliate.Eligible(a.Status)}
	}
	return affiliate.Upline(partner, members, levels)
}

// writeOrderBatch is the batch's writes, all in this one place after its
// decisions: the postings through ledger.PostBatch (each balance row
// once, in order), then in one round trip every paid order's row and
// accrual event and every response under its key. A write that appends
// for each command of the batch (an event of it) goes here too, one
// statement for the batch, reading out[i].View of the Fresh outcomes
// (the commands of fresh; items is every command of the attempt).
func (s *Service) writeOrderBatch(ctx context.Context, tx pgx.Tx, journal *ledger.Program, items, fresh []*orderItem, postings []ledger.Posting,
	out []orderOutcome, wrote *batchWrote) error {
	txs, replayed, owed, err := ledger.PostBatchOwingIn(ctx, tx, journal, s.accounts, postings)
	if err != nil {
		return err
	}
	wrote.accounts = owed.Fetched()
	w, now := store.NewOrderWrites(journal.ID), s.clock.Now()
	var (
		records []store.Command
		bodies  [][]byte
	)
	for _, it := range fresh {
		if it.posting >= 0 {
			if replayed[it.posting] {
				// The command's key was just claimed, so the journal cannot
				// hold its posting already; if it does, the two disagree.
				return fmt.Errorf("service: the journal already holds the posting of key %q", it.call.c.Key)
			}
			it.event.TransactionID = txs[it.posting].ID
		}
		if it.event != nil {
			if err := w.InsertOrderEvent(it.order.ID, *it.event); err != nil {
				return err
			}
		}
		if err := w.InsertOrder(it.order); err != nil {
			return err
		}
		view := OrderView{Order: it.order, Scale: journal.Scale}
		body, err := encodeResult(it.call.encode, view)
		if err != nil {
			return err
		}
		out[it.i] = orderOutcome{Reply: Reply{Body: body}, Fresh: true, View: view}
		records, bodies = append(records, it.call.c.record(now)), append(bodies, body)
	}
	for _, it := range items {
		if it.first != nil {
			out[it.i] = repeatedKey(it.first.call, out[it.first.i], it.call)
		}
	}
	w.RecordCommands(records, bodies, now)
	// One round trip for the rest: the rows above, the outbox events, and
	// last the balances, whose hot rows stay locked from there to commit.
	if err := s.emitPaidEvents(ctx, w, journal.ID, fresh, out); err != nil {
		return err
	}
	if err := owed.Apply(ctx, w); err != nil {
		return err
	}
	err = w.Send(ctx, tx)
	if errors.Is(err, store.ErrKeysTaken) {
		return errKeyRaced
	}
	return orderTakenDrop(err, fresh)
}

// orderTakenDrop is err, but for an order paid before or by a concurrent
// payment (store.OrdersTaken): the first such command is dropped as
// already paid, and the batch runs again without it.
func orderTakenDrop(err error, fresh []*orderItem) error {
	var taken store.OrdersTaken
	if !errors.As(err, &taken) {
		return err
	}
	for _, it := range fresh {
		if slices.Contains(taken.IDs, it.order.ID) {
			return droppedCommand{it.i, affiliate.AlreadyPaid(it.order.ID)}
		}
	}
	return err
}

// emitPaidEvents appends the outbox events of the batch's fresh payments
// (order.paid, and order.accrued when it accrued) in one statement.
func (s *Service) emitPaidEvents(ctx context.Context, q ledger.Querier, program string, fresh []*orderItem, out []orderOutcome) error {
	var events []Emitted
	for _, it := range fresh {
		view := out[it.i].View
		types := paidEvents(view.Order)
		if len(types) == 0 {
			continue
		}
		// order.paid and order.accrued carry the same order: render it once.
		body, err := s.renderResource(view)
		if err != nil {
			return fmt.Errorf("service: rendering order %s for its events: %w", view.Order.ID, err)
		}
		for _, t := range types {
			events = append(events, Emitted{Type: t, Resource: view, rendered: body})
		}
	}
	return s.emit(ctx, q, program, events...)
}
