package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// The statements schedule (SPEC §7): each program's rules name a cron
// schedule; at each tick the period before it is closed. The program's
// schedule cursor (store.ScheduleCursor; the program's creation time until
// the first tick is handled) remembers the last tick handled, so the next
// run resumes after it.

// scheduleTicksMax bounds the statement ticks RunDueCloses walks for one
// program in one call; the cursor is saved, so the next call goes on.
const scheduleTicksMax = 100_000

// forEachProgram calls fn with every program's id, a page at a time, and
// joins the errors fn returns.
func (s *Service) forEachProgram(ctx context.Context, fn func(program string) error) error {
	var (
		errs  []error
		after string
	)
	for {
		ids, err := ledger.ProgramIDs(ctx, s.db.Pool, after, ledger.PageSizeMax)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				errs = append(errs, err)
			}
		}
		if len(ids) < ledger.PageSizeMax {
			return errors.Join(errs...)
		}
		after = ids[len(ids)-1]
	}
}

// RunDueCloses closes, for every program, the period before each tick of
// its statements schedule that is after the program's schedule cursor and
// at or before now, in time order, and advances the cursor. A period whose
// close another process is running is left to it. The scheduler calls it
// periodically; a replay calls it before each step with the step's time.
func (s *Service) RunDueCloses(ctx context.Context, now time.Time) error {
	return s.forEachProgram(ctx, func(id string) error {
		if err := s.runDueProgram(ctx, id, now); err != nil {
			s.log.Error("scheduled close failed", "program", id, "err", err)
			return fmt.Errorf("program %s: %w", id, err)
		}
		return nil
	})
}

// runDueProgram walks one program's due schedule ticks; none while the
// program imports its history (its cursor stays, so FinishImport's call
// catches up on every tick held).
func (s *Service) runDueProgram(ctx context.Context, program string, now time.Time) error {
	if st, err := store.LoadImport(ctx, s.db.Pool, program, store.NoLock); err != nil || st.Importing {
		return err
	}
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return err
	}
	created, err := ledger.ProgramCreated(ctx, s.db.Pool, program)
	if err != nil {
		return err
	}
	cursor, found, err := store.ScheduleCursor(ctx, s.db.Pool, program)
	if err != nil {
		return err
	}
	if !found {
		cursor = created
	}
	first, done := journal.PeriodOf(created), ""
	start := cursor
	for range scheduleTicksMax {
		_, prog, err := s.VersionAt(ctx, s.db.Pool, program, cursor)
		if fault.CodeOf(err) == fault.CodeNotFound {
			return nil // no rules yet: nothing is scheduled
		}
		if err != nil {
			return err
		}
		sched, err := parseSchedule(prog.Schedule, journal.Location)
		if err != nil {
			return err
		}
		tick := sched.Next(cursor)
		if tick.IsZero() || tick.After(now) {
			break
		}
		// The period that ended at or before the tick.
		period := affiliate.PrevPeriod(journal.PeriodOf(tick))
		if period >= first && period != done {
			s.log.Info("scheduled close starting", "program", program, "period", period, "tick", tick)
			res, err := s.ClosePeriodAt(ctx, program, period, now)
			if fault.CodeOf(err) == fault.CodeAborted {
				s.log.Info("scheduled close left to another process", "program", program, "period", period, "err", err)
				return nil
			}
			if err != nil {
				return err
			}
			s.log.Info("scheduled close done", "program", program, "period", period,
				"statements", res.Statements, "already_closed", res.AlreadyClosed)
			done = period
			if err := store.SaveScheduleCursor(ctx, s.db.Pool, program, tick); err != nil {
				return err
			}
		}
		cursor = tick
	}
	if cursor.After(start) {
		return store.SaveScheduleCursor(ctx, s.db.Pool, program, cursor)
	}
	return nil
}

// parseSchedule reads a rules document's statements.schedule in loc.
func parseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	sched, err := cron.ParseStandard("CRON_TZ=" + loc.String() + " " + expr)
	if err != nil {
		return nil, fmt.Errorf("service: statements schedule %q: %w", expr, err)
	}
	return sched, nil
}

// RunScheduled runs every scheduled job due at now: the statement closes
// (RunDueCloses), then sealing every program's journal, so tampering with
// a row older than ledger.SealLag breaks the chain even if nobody verified,
// then expiring idempotency records past CommandRetention.
func (s *Service) RunScheduled(ctx context.Context, now time.Time) error {
	closeErr := s.RunDueCloses(ctx, now)
	sealErr := s.forEachProgram(ctx, func(p string) error {
		if err := s.Seal(ctx, p); err != nil {
			return fmt.Errorf("sealing %s: %w", p, err)
		}
		return nil
	})
	_, expireErr := s.ExpireCommands(ctx)
	return errors.Join(closeErr, sealErr, expireErr)
}
