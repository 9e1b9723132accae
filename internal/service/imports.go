package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// A history import (issue 9, docs/decisions.md "Issue 9: history import"):
// BeginImport holds a program's scheduler, ImportEvents brings its past
// events in order, FinishImport releases the hold and runs the closes the
// scheduler missed, oldest first, each with its statements.

// ImportBegun is BeginImport's result: Begun is false when the program was
// importing already (nothing changed).
type ImportBegun struct {
	Begun bool
}

// ImportFinished is FinishImport's result: the program's open period once
// the missed closes ran ("" when it has no rules yet).
type ImportFinished struct {
	OpenPeriod string
}

// BeginImport puts c's program in importing state: the scheduler leaves its
// periods open and ClosePeriod refuses until FinishImport. The program need
// not exist yet: beginning before its first PutRules means the scheduler
// never sees it unheld (a program created with rules dated last month would
// otherwise have that month closed within a minute).
func (s *Service) BeginImport(ctx context.Context, c Command, encode Encode[ImportBegun]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (ImportBegun, error) {
		begun, err := store.BeginImport(ctx, tx, c.Program, s.clock.Now())
		return ImportBegun{Begun: begun}, err
	})
}

// FinishImport ends c's program's import, then runs the scheduler's closes
// that were held (runDueProgram, at the service's clock), oldest first,
// each with its statements, and returns when they are done. A program that
// is not importing fails FailedPrecondition (a replay of the same key
// answers as the first call). The closes run detached from ctx's
// cancellation; if they fail, the hold is gone and the scheduler resumes
// them at its next run.
func (s *Service) FinishImport(ctx context.Context, c Command) (Reply, ImportFinished, error) {
	reply, err := Exec(ctx, s, c, func(struct{}) ([]byte, error) { return []byte{}, nil }, func(tx pgx.Tx) (struct{}, error) {
		finished, err := store.FinishImport(ctx, tx, c.Program, s.clock.Now())
		if err == nil && !finished {
			err = fault.FailedPrecondition("program", "program %q is not importing", c.Program)
		}
		return struct{}{}, err
	})
	if err != nil {
		return Reply{}, ImportFinished{}, err
	}
	ctx = context.WithoutCancel(ctx)
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, c.Program)
	if fault.CodeOf(err) == fault.CodeNotFound {
		return reply, ImportFinished{}, nil // no rules: nothing to close
	}
	if err != nil {
		return Reply{}, ImportFinished{}, err
	}
	if err := s.runDueProgram(ctx, c.Program, s.clock.Now()); err != nil {
		return Reply{}, ImportFinished{}, err
	}
	if journal, err = ledger.LoadProgram(ctx, s.db.Pool, c.Program); err != nil {
		return Reply{}, ImportFinished{}, err
	}
	return reply, ImportFinished{OpenPeriod: openPeriod(journal)}, nil
}

// openPeriod is the journal's earliest open period.
func openPeriod(journal *ledger.Program) string {
	if journal.OpenFrom.IsZero() {
		return ""
	}
	return journal.PeriodOf(journal.OpenFrom)
}

// checkNotImporting refuses a close of program while it imports its
// history: the closed month would stop taking the events still to come.
func checkNotImporting(ctx context.Context, q ledger.Querier, program string) error {
	st, err := store.LoadImport(ctx, q, program, store.NoLock)
	if err == nil && st.Importing {
		err = fault.FailedPrecondition("program", "program %q is importing its history: its periods close after FinishImport", program)
	}
	return err
}

// closedMonth refuses an event at `at` of a program whose booking month is
// closed already (first is the program's first period; until a close, the
// program is open from its start): an import books every event in its own
// month, never silently in a later one. field names the event's time.
func closedMonth(journal *ledger.Program, first string, at time.Time, field string) error {
	open := openPeriod(journal)
	if open == first || !at.Before(journal.OpenFrom) {
		return nil
	}
	return fault.FailedPrecondition(field, "%s falls in %s, and the program's periods before %s are closed: an imported event is booked in its own month",
		at.Format(time.RFC3339), journal.PeriodOf(at), open)
}
