package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// A period close (SPEC §7) runs as a sequence of small transactions, each
// idempotent, so a close that stops halfway (crash, deploy, lost lease) is
// finished by running it again:
//
//  1. claim: the periods row holds the run's lease (lease.go), and the
//     journal's open period moves past the period, so later events are
//     booked in the open period;
//  2. mature: pending accruals whose hold ended by period end move to
//     accrued, matureBatchMax orders per transaction;
//  3. per keyset page of closeBatchMax partners, in id order: releases
//     (accrued → payable at or above the minimum) and statements, in one
//     transaction, every fact of the page read in one query over it
//     (close_batch.go);
//  4. mark the period closed.
//
// Every posting has a deterministic idempotency key (close:<period>:...)
// and statements are unique per (partner, period), so two runs that both
// do a step still write it once; and every write transaction checks the
// lease first, so a run that lost it stops.

// Closed summarises a closed period; Scale is the program currency's, to
// format Released.
type Closed struct {
	Period        string
	Statements    int32
	Released      decimal.Decimal
	AlreadyClosed bool
	Scale         int32
}

// ClosePeriod closes period of c's program, and every earlier one still
// open, with the service's clock as now; closing a closed period changes
// nothing. A request that cannot close (an unknown program, a malformed
// period, one that has not ended) is refused before its key is claimed.
// The close is idempotent by its period and runs many transactions: the
// key is claimed first and its response recorded once it is done
// (ExecIdempotent). It runs to its end however long it takes, and when the
// caller goes away; a call with the same key while a run is live waits for
// that run and answers its response.
func (s *Service) ClosePeriod(ctx context.Context, c Command, period string, encode Encode[Closed]) (Reply, error) {
	if c.Program == "" {
		return Reply{}, fault.InvalidArgument("program", "required")
	}
	if err := CheckKey(c.Key); err != nil {
		return Reply{}, err
	}
	plan, err := s.planClose(ctx, c.Program, period, s.clock.Now())
	if err != nil {
		return Reply{}, err
	}
	busy := func(ctx context.Context) (bool, error) {
		return store.ClosingLive(ctx, s.db.Pool, plan.journal.ID, plan.period)
	}
	return ExecIdempotent(ctx, s, c, encode, busy, func(ctx context.Context) (Closed, error) { return s.runClose(ctx, plan) })
}

// ClosePeriodAt closes period of program, first closing every earlier
// period of the program that is still open, in order, with no idempotency
// record (the scheduler's close). now is the time the period must have
// ended by.
func (s *Service) ClosePeriodAt(ctx context.Context, program, period string, now time.Time) (Closed, error) {
	plan, err := s.planClose(ctx, program, period, now)
	if err != nil {
		return Closed{}, err
	}
	return s.runClose(ctx, plan)
}

// closePlan is a checked request to close period: the periods from first
// up to it are closed in order.
type closePlan struct {
	journal       *ledger.Program
	first, period string
}

// planClose checks that period of program can be closed at now: it is a
// period, it has ended, and it is not before the program's first one.
func (s *Service) planClose(ctx context.Context, program, period string, now time.Time) (closePlan, error) {
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return closePlan{}, err
	}
	if err := checkNotImporting(ctx, s.db.Pool, journal.ID); err != nil {
		return closePlan{}, err
	}
	_, end, err := affiliate.PeriodRange(period, journal.Location)
	if err != nil {
		return closePlan{}, err
	}
	if err := affiliate.ClosedBy(period, end, now); err != nil {
		return closePlan{}, err
	}
	first, err := s.firstPeriod(ctx, journal)
	if err != nil {
		return closePlan{}, err
	}
	if period < first {
		return closePlan{}, fault.InvalidArgument("period", "period %s precedes the program's first period %s", period, first)
	}
	return closePlan{journal: journal, first: first, period: period}, nil
}

// firstPeriod is the period the program was created in.
func (s *Service) firstPeriod(ctx context.Context, journal *ledger.Program) (string, error) {
	created, err := ledger.ProgramCreated(ctx, s.db.Pool, journal.ID)
	if err != nil {
		return "", err
	}
	return journal.PeriodOf(created), nil
}

// runClose closes the plan's period and the open ones before it.
func (s *Service) runClose(ctx context.Context, plan closePlan) (Closed, error) {
	closed, err := store.ClosedPeriods(ctx, s.db.Pool, plan.journal.ID, plan.first, plan.period)
	if err != nil {
		return Closed{}, err
	}
	for p := plan.first; p < plan.period; p = affiliate.NextPeriod(p) {
		if closed[p] {
			continue
		}
		if _, err := s.closeOne(ctx, plan.journal, p); err != nil {
			return Closed{}, fmt.Errorf("closing earlier period %s: %w", p, err)
		}
	}
	return s.closeOne(ctx, plan.journal, plan.period)
}

// closeOne runs (or finishes) the close of one period whose predecessors
// are closed, under a lease kept alive while it works and given up when it
// fails.
func (s *Service) closeOne(ctx context.Context, journal *ledger.Program, period string) (Closed, error) {
	_, end, err := affiliate.PeriodRange(period, journal.Location)
	if err != nil {
		return Closed{}, err
	}
	l := newLease(journal.ID, period)
	var closed bool
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		closed, err = l.claim(ctx, tx, journal, end)
		return err
	})
	if err != nil {
		return Closed{}, err
	}
	if closed {
		res, err := s.periodSummary(ctx, journal, period)
		res.AlreadyClosed = true
		return res, err
	}
	work, stop := s.keepLease(ctx, l)
	start := s.clock.Now()
	err = s.closeClaimed(work, journal, l, end)
	stop()
	if err != nil {
		err = leaseErr(work, err)
		// Give the lease up so that a retry resumes at once.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		defer cancel()
		if rerr := store.ReleaseLease(rctx, s.db.Pool, l.Lease); rerr != nil {
			s.log.Warn("period close: releasing the lease failed", "program", journal.ID, "period", period, "err", rerr)
		}
		return Closed{}, err
	}
	res, err := s.periodSummary(ctx, journal, period)
	if err == nil {
		s.observer.Closed(journal.ID, period, int(res.Statements), s.clock.Now().Sub(start))
	}
	return res, err
}

// periodSummary counts a period's statements and what they released.
func (s *Service) periodSummary(ctx context.Context, journal *ledger.Program, period string) (Closed, error) {
	n, released, err := store.PeriodSummary(ctx, s.db.Pool, journal.ID, period)
	if err != nil {
		return Closed{}, err
	}
	return Closed{Period: period, Statements: n, Released: released, Scale: journal.Scale}, nil
}

// closeClaimed does the work of a close whose lease l holds: maturing,
// releases and statements, and marking the period closed.
func (s *Service) closeClaimed(ctx context.Context, journal *ledger.Program, l lease, end time.Time) error {
	// The rules in force during the period's last instant decide the
	// minimum and the due date.
	_, prog, err := s.VersionAt(ctx, s.db.Pool, journal.ID, end.Add(-time.Microsecond))
	if err != nil {
		return err
	}
	if err := s.matureOrders(ctx, journal, l, end); err != nil {
		return err
	}
	total, err := store.CountPartners(ctx, s.db.Pool, journal.ID)
	if err != nil {
		return err
	}
	if err := store.StartProgress(ctx, s.db.Pool, l.Lease, total, s.clock.Now()); err != nil {
		return err
	}
	if err := s.closeBatches(ctx, journal, prog, l, end, total); err != nil {
		return err
	}
	return s.markClosed(ctx, journal, l)
}

// closeLogEvery is how often a working close logs its progress.
const closeLogEvery = 5 * time.Second

// closeBatches walks the program's partners in keyset pages of
// closeBatchMax, one transaction each, logging at the start, every
// closeLogEvery and at the end. total is the partner count when it
// started, for the log and progress (partners registered meanwhile are
// walked too).
func (s *Service) closeBatches(ctx context.Context, journal *ledger.Program, prog *rules.Program, l lease, end time.Time, total int) error {
	size := closeBatchMax
	if s.close.Batch > 0 {
		size = s.close.Batch
	}
	start := time.Now()
	logged := start
	s.log.Info("period close: started", "program", journal.ID, "period", l.Period, "partners", total)
	after, done := "", 0
	for {
		n, last, err := s.closePartners(ctx, journal, prog, l, end, after, size, done)
		if err != nil {
			return err
		}
		done += n
		if n < size {
			break
		}
		after = last
		if time.Since(logged) >= closeLogEvery {
			logged = time.Now()
			s.log.Info("period close: progress", "program", journal.ID, "period", l.Period, "done", done, "total", total)
		}
	}
	s.log.Info("period close: done", "program", journal.ID, "period", l.Period, "partners", done,
		"duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// closePartners reads the page of up to size partners after the id after,
// then releases and writes their statements in one transaction under the
// lease, recording that done+n partners are done; it returns n, the page's
// size, and the page's last id. The page is read before the transaction:
// while the lease holds, only this run writes the period's statements, and
// a run that lost it stops at the transaction's lease check.
func (s *Service) closePartners(ctx context.Context, journal *ledger.Program, prog *rules.Program, l lease, end time.Time,
	after string, size, done int) (n int, last string, err error) {
	page, err := store.ClosingPage(ctx, s.db.Pool, journal.ID, l.Period, after, size)
	if err != nil || len(page) == 0 {
		return 0, "", err
	}
	if err := s.partnerHook(page); err != nil {
		return 0, "", err
	}
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		if err := l.check(ctx, tx); err != nil {
			return err
		}
		if err := s.closeBatch(ctx, tx, journal, prog, l.Period, end, page); err != nil {
			return err
		}
		return store.SetProgress(ctx, tx, l.Lease, done+len(page))
	})
	if err != nil {
		return 0, "", fmt.Errorf("service: closing %s for the partners after %q: %w", l.Period, after, err)
	}
	return len(page), page[len(page)-1].ID, nil
}

// partnerHook runs the Partner test hook on each partner of page.
func (s *Service) partnerHook(page []store.ClosingPartner) error {
	if s.close.Partner == nil {
		return nil
	}
	for _, p := range page {
		if err := s.close.Partner(p.ID); err != nil {
			return err
		}
	}
	return nil
}

// markClosed ends a close and reports it (period.closed, with the
// period's summary) in the same transaction. Another run that took over
// may have marked it first; that is the same outcome, reported by that run.
func (s *Service) markClosed(ctx context.Context, journal *ledger.Program, l lease) error {
	return s.db.Run(ctx, func(tx pgx.Tx) error {
		marked, status, err := store.MarkClosed(ctx, tx, l.Lease, s.clock.Now())
		if err != nil {
			return err
		}
		if !marked {
			if status != "closed" {
				return errLeaseLost(l.Period)
			}
			return nil
		}
		n, released, err := store.PeriodSummary(ctx, tx, journal.ID, l.Period)
		closed := Closed{Period: l.Period, Statements: n, Released: released, Scale: journal.Scale}
		_, err = withEvent(ctx, s, tx, journal.ID, EventPeriodClosed, closed, err)
		return err
	})
}
