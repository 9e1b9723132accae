package service

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
)

// importCall is one attempt of an ImportEvents call in its transaction:
// the program's journal (locked), the events, their encoders and replies.
// When batch is set, each run of payments goes through the group path's
// steps (importOrders); else every event runs its use case one by one.
type importCall struct {
	journal *ledger.Program
	events  []ImportEvent
	enc     ImportEncoders
	out     []Reply
	batch   bool
}

// errBatchRefused rolls back an import attempt in which a batch refused
// one of its events: the call is run again one by one (importCall.batch
// unset), which refuses it with the fault of the first event refused in
// order, as it always did. A batch finds a refusal by step, not in the
// events' order, so its own refusal may name a later event than the
// first one refused.
var errBatchRefused = errors.New("service: an import batch refused an event")

// runOf is the indices of the run of events from k, below j, that in
// takes (a kind of event): those from k on, skipping clicks (recorded
// before), up to the first other event.
func runOf(events []ImportEvent, k, j int, in func(ImportEvent) bool) []int {
	var run []int
	for ; k < j; k++ {
		switch e := events[k]; {
		case in(e):
			run = append(run, k)
		case e.Click == nil:
			return run
		}
	}
	return run
}

// isPay takes payments; isCodedPartner registrations with their code (a
// generated code is drawn again when taken: registerIn, one by one).
func isPay(e ImportEvent) bool          { return e.Pay != nil }
func isCodedPartner(e ImportEvent) bool { return e.Partner != nil && e.Partner.Code != "" }

// importOrders pays the PayOrder events events[run[0]], events[run[1]],
// ... in tx through the steps of the group path (payOrdersLocked), under
// the import's program lock, as if run one by one in order: a key used
// earlier replays, a key repeated in the run answers as its first event.
// An event refused (dropped with a fault, or refused by its key) is
// errBatchRefused; another failure (the database's) is returned as is, so
// that internal/txn retries the call on a serialization failure.
// A run has at most ImportEventsMax events, the bound of one call, so it
// is one batch.
func (s *Service) importOrders(ctx context.Context, tx pgx.Tx, ic *importCall, run []int) error {
	calls := make([]orderCall, len(run))
	for k, i := range run {
		calls[k] = orderCall{c: ic.events[i].Command, in: *ic.events[i].Pay, encode: ic.enc.Pay}
	}
	outcomes := make([]orderOutcome, len(run))
	var wrote batchWrote // its accounts are not remembered: the call commits later, if at all
	err := s.payOrdersLocked(ctx, tx, ic.journal, calls, make([]bool, len(run)), outcomes, &wrote)
	if d := (droppedCommand{}); errors.As(err, &d) && fault.CodeOf(d.err) != fault.CodeInternal {
		return errBatchRefused
	}
	if err != nil {
		return err
	}
	for k, o := range outcomes {
		if o.Err != nil {
			return errBatchRefused
		}
		ic.out[run[k]] = o.Reply
	}
	return nil
}

// importRun is the run of events from k, below j, that ic applies as a
// batch, with the function applying it; nil when the event at k runs
// alone (its use case, importOne): ic.batch unset, an event of another
// kind, or a run of one.
func (s *Service) importRun(ic *importCall, k, j int) ([]int, func(context.Context, pgx.Tx, *importCall, []int) error) {
	if !ic.batch {
		return nil, nil
	}
	var (
		run   []int
		apply func(context.Context, pgx.Tx, *importCall, []int) error
	)
	switch e := ic.events[k]; {
	case isPay(e):
		run, apply = runOf(ic.events, k, j, isPay), s.importOrders
	case isCodedPartner(e):
		run, apply = runOf(ic.events, k, j, isCodedPartner), s.importPartners
	}
	if len(run) < 2 {
		return nil, nil
	}
	return run, apply
}
