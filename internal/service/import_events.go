package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// ImportEventsMax bounds the events of one ImportEvents call.
const ImportEventsMax = 1000

// ImportEvent is one event of an import, exactly one of its inputs set, as
// the single-event use case takes it, under the command of the equivalent
// single call (its key and request hash), so that the two are one command.
type ImportEvent struct {
	Command
	// Field is the event's path in the call (events[3].pay_order); the
	// fields of its faults are prefixed with it.
	Field string
	// At is the event's time, validated by the caller.
	At time.Time

	Partner          *NewPartner
	Click            *store.Click
	Pay              *PayOrderInput
	Complete, Cancel *OrderChange
	Refund           *RefundOrderInput
	Amend            *AmendOrderInput
}

// ImportEncoders encode each kind of event's response as its single call
// stores it under its key.
type ImportEncoders struct {
	Partner                              Encode[PartnerView]
	Click                                Encode[RecordedClick]
	Pay, Complete, Refund, Amend, Cancel Encode[OrderView]
}

// ImportEvents applies past events of an importing program (BeginImport)
// in one retried transaction, all or nothing: each event exactly once per
// idempotency key, as its single call would (a key recorded with the same
// payload replays, by an import or a single call), with one reply per
// event. The events must come in time order, none earlier than the latest
// event applied by an earlier call of the import, none in a closed month;
// any refused event refuses the call, its fault naming the event's field.
// The events run set-based where they can, each batch equal to its events
// run one by one in order: a segment's clicks are recorded first in one
// batch (RecordClicks' statements, segmentEnd), each run of payments is
// paid through PayOrder's group path (importOrders), each run of
// registrations with their codes is registered in a few statements
// (importPartners); the other order events, and a registration drawing
// its code, run their use cases one by one. When a batch refuses one of
// its events the call is run again one by one, which names the first
// event refused, as before.
func (s *Service) ImportEvents(ctx context.Context, program string, events []ImportEvent, enc ImportEncoders) ([]Reply, error) {
	if program == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	if n := len(events); n == 0 || n > ImportEventsMax {
		return nil, fault.InvalidArgument("events", "1 to %d events, not %d", ImportEventsMax, n)
	}
	for i := 1; i < len(events); i++ {
		if prev := events[i-1].At; events[i].At.Before(prev) {
			return nil, eventFault(events[i], fault.InvalidArgument("at", "%s is before the previous event's %s: an import's events come in time order",
				events[i].At.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano)))
		}
	}
	out := make([]Reply, len(events))
	err := s.importAttempts(ctx, program, events, enc, out, true)
	if errors.Is(err, errBatchRefused) {
		// A batch refused one of its events: the one-by-one path refuses
		// the call as it always did, naming the first event refused.
		err = s.importAttempts(ctx, program, events, enc, out, false)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// importAttempts runs importIn in one retried transaction, again when a
// key was recorded concurrently; batch is importCall's.
func (s *Service) importAttempts(ctx context.Context, program string, events []ImportEvent, enc ImportEncoders, out []Reply, batch bool) error {
	var err error
	for range raceRetriesMax {
		err = s.db.Run(ctx, func(tx pgx.Tx) error { return s.importIn(ctx, tx, program, events, enc, out, batch) })
		if !errors.Is(err, errKeyRaced) {
			break
		}
	}
	return err
}

// importIn is one attempt of ImportEvents in tx, filling out. It locks the
// program (shared, as every posting) and then its import row, so the calls
// of one import run one at a time.
func (s *Service) importIn(ctx context.Context, tx pgx.Tx, program string, events []ImportEvent, enc ImportEncoders, out []Reply, batch bool) error {
	journal, err := ledger.LockProgram(ctx, tx, program)
	if err != nil {
		return err
	}
	st, err := store.LoadImport(ctx, tx, program, store.ForUpdate)
	if err != nil {
		return err
	}
	if !st.Importing {
		return fault.FailedPrecondition("program", "program %q is not importing: call BeginImport first", program)
	}
	ic := &importCall{journal: journal, events: events, enc: enc, out: out, batch: batch}
	for i := 0; i < len(events); {
		j := segmentEnd(events, i)
		if err := s.importSegment(ctx, tx, ic, i, j); err != nil {
			return err
		}
		i = j
	}
	created, err := ledger.ProgramCreated(ctx, tx, program)
	if err != nil {
		return err
	}
	return saveImportProgress(ctx, tx, journal, journal.PeriodOf(created), st, events, out)
}

// segmentEnd is the end of the segment of events from i that
// importSegment runs: a run of registrations, else the run of clicks and
// order events whose clicks may all be recorded first, in one batch. A
// click counts for an order's attribution only when dated at or before
// the order (store.Attribute), so a click may move ahead of an order dated
// earlier than it, but not of one of the same instant (the run ends
// there), nor of a registration (its partner may be the click's).
func segmentEnd(events []ImportEvent, i int) int {
	if events[i].Partner != nil {
		for i++; i < len(events) && events[i].Partner != nil; i++ {
		}
		return i
	}
	var (
		orders    bool
		lastOrder time.Time
	)
	j := i
	for ; j < len(events) && events[j].Partner == nil; j++ {
		switch e := events[j]; {
		case e.Click == nil:
			orders, lastOrder = true, e.At
		case orders && !e.At.After(lastOrder):
			return j
		}
	}
	return j
}

// importSegment runs the events [i, j): their clicks as one batch, then
// the others in order: each run of payments through the batch path when
// ic.batch (importOrders), the others one by one.
func (s *Service) importSegment(ctx context.Context, tx pgx.Tx, ic *importCall, i, j int) error {
	var clicks []int
	for k := i; k < j; k++ {
		if ic.events[k].Click != nil {
			clicks = append(clicks, k)
		}
	}
	if len(clicks) > 0 {
		if err := s.importClicks(ctx, tx, ic.journal.ID, ic.events, clicks, ic.enc.Click, ic.out); err != nil {
			return err
		}
	}
	for k := i; k < j; {
		e := ic.events[k]
		if e.Click != nil {
			k++
			continue
		}
		if run, apply := s.importRun(ic, k, j); run != nil {
			if err := apply(ctx, tx, ic, run); err != nil {
				return err
			}
			k = run[len(run)-1] + 1
			continue
		}
		var err error
		if ic.out[k], err = s.importOne(ctx, tx, e, ic.enc); err != nil {
			return err
		}
		k++
	}
	return nil
}

// importClicks records the clicks events[idx[0]], events[idx[1]], ... as
// one batch; a click the batch refuses refuses the call.
func (s *Service) importClicks(ctx context.Context, tx pgx.Tx, program string, events []ImportEvent, idx []int, encode Encode[RecordedClick], out []Reply) error {
	clicks := make([]BatchClick, len(idx))
	for k, i := range idx {
		clicks[k] = BatchClick{Command: events[i].Command, Click: *events[i].Click}
	}
	outcomes := make([]ClickOutcome, len(idx))
	todo := firstClicks(clicks, outcomes)
	if err := s.recordClicks(ctx, tx, program, clicks, todo, encode, outcomes); err != nil {
		return err
	}
	settleRepeatedKeys(clicks, outcomes)
	for k, o := range outcomes {
		if o.Err != nil {
			return eventFault(events[idx[k]], o.Err)
		}
		out[idx[k]] = o.Reply
	}
	return nil
}

// importOne runs one registration or order event's use case in tx.
func (s *Service) importOne(ctx context.Context, tx pgx.Tx, e ImportEvent, enc ImportEncoders) (Reply, error) {
	var (
		reply Reply
		err   error
	)
	switch {
	case e.Partner != nil:
		reply, err = s.registerIn(ctx, tx, e.Command, *e.Partner, enc.Partner)
	case e.Pay != nil:
		reply, err = s.payOrderIn(ctx, tx, e.Command, *e.Pay, enc.Pay)
	case e.Complete != nil:
		reply, err = s.changeIn(ctx, tx, e.Command, *e.Complete, "", enc.Complete, s.completeFunc(ctx))
	case e.Refund != nil:
		reply, err = s.changeIn(ctx, tx, e.Command, e.Refund.OrderChange, EventOrderAdjusted, enc.Refund, refundFunc(*e.Refund))
	case e.Amend != nil:
		reply, err = s.changeIn(ctx, tx, e.Command, e.Amend.OrderChange, EventOrderAdjusted, enc.Amend, amendFunc(*e.Amend))
	case e.Cancel != nil:
		reply, err = s.changeIn(ctx, tx, e.Command, *e.Cancel, EventOrderAdjusted, enc.Cancel, cancelFunc)
	default:
		return Reply{}, fmt.Errorf("service: import event %s has no input", e.Field)
	}
	return reply, eventFault(e, err)
}

// saveImportProgress checks the events the call applied (not replayed) and
// records the import's new latest event time. An applied event earlier
// than one an earlier call applied is out of order; one in a closed month
// (first is the program's first period) would have been booked in a later
// one. Either refuses the call, rolling back what it applied; a replayed
// event is checked for neither, so an import sent again replays whole.
func saveImportProgress(ctx context.Context, tx pgx.Tx, journal *ledger.Program, first string, st store.ImportState, events []ImportEvent, out []Reply) error {
	var (
		applied int
		last    time.Time
	)
	for i, e := range events {
		if out[i].Replayed {
			continue
		}
		if st.LastAt != nil && e.At.Before(*st.LastAt) {
			return eventFault(e, fault.FailedPrecondition("at", "%s is before %s, the latest event this import applied: an import's events come in time order",
				e.At.Format(time.RFC3339Nano), st.LastAt.Format(time.RFC3339Nano)))
		}
		if err := closedMonth(journal, first, e.At, "at"); err != nil {
			return eventFault(e, err)
		}
		applied, last = applied+1, e.At
	}
	if applied == 0 {
		return nil
	}
	return store.SaveImportProgress(ctx, tx, journal.ID, last, applied)
}

// eventFault is err with its field under the event's path (fault.Prefixed).
func eventFault(e ImportEvent, err error) error { return fault.Prefixed(e.Field, err) }
