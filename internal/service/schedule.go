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

// forEachListed calls fn with every program id list returns, a page at a
// time (list returns up to ledger.PageSizeMax ids after its argument, in
// order), and joins the errors fn returns.
func forEachListed(list func(after string) ([]string, error), fn func(program string) error) error {
	var (
		errs  []error
		after string
	)
	for {
		ids, err := list(after)
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
// It walks only the programs store.DueSchedules names, so a minute of
// thousands of idle programs is one statement.
func (s *Service) RunDueCloses(ctx context.Context, now time.Time) error {
	due := func(after string) ([]string, error) {
		return store.DueSchedules(ctx, s.db.Pool, now, after, ledger.PageSizeMax)
	}
	return forEachListed(due, func(id string) error {
		if err := s.runDueProgram(ctx, id, now); err != nil {
			s.log.Error("scheduled close failed", "program", id, "err", err)
			return fmt.Errorf("program %s: %w", id, err)
		}
		return nil
	})
}

// runDueProgram walks one program's due schedule ticks and saves where the
// walk ended with the next tick; none while the program imports its
// history (its cursor stays, so FinishImport's call catches up on every
// tick held).
func (s *Service) runDueProgram(ctx context.Context, program string, now time.Time) error {
	if st, err := store.LoadImport(ctx, s.db.Pool, program, store.NoLock); err != nil || st.Importing {
		return err
	}
	// Read before the walk reads any version: one published during the
	// walk leaves the schedule stale, so the next minute computes it again.
	latest, err := store.LatestRulesVersion(ctx, s.db.Pool, program)
	if err != nil {
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
	walk, err := s.walkTicks(ctx, journal, journal.PeriodOf(created), cursor, now)
	if err != nil || walk.leftToOther {
		return err
	}
	return store.SaveSchedule(ctx, s.db.Pool, program, walk.cursor, walk.next, latest)
}

// tickWalk is where walkTicks stopped.
type tickWalk struct {
	cursor time.Time  // the last tick handled
	next   *time.Time // the tick after it; nil when there is none
	// leftToOther: another process is running a close the walk reached.
	leftToOther bool
}

// walkTicks closes the period before each tick after cursor up to now
// (none before the program's first period, each once), saving the cursor
// after each close, for at most scheduleTicksMax ticks; then the next
// tick is the cursor itself, so the next run goes on.
func (s *Service) walkTicks(ctx context.Context, journal *ledger.Program, first string, cursor, now time.Time) (tickWalk, error) {
	done := ""
	for range scheduleTicksMax {
		_, prog, err := s.VersionAt(ctx, s.db.Pool, journal.ID, cursor)
		if fault.CodeOf(err) == fault.CodeNotFound {
			return tickWalk{cursor: cursor}, nil // no rules yet: nothing is scheduled
		}
		if err != nil {
			return tickWalk{}, err
		}
		sched, err := parseSchedule(prog.Schedule, journal.Location)
		if err != nil {
			return tickWalk{}, err
		}
		tick := sched.Next(cursor)
		if tick.IsZero() {
			return tickWalk{cursor: cursor}, nil
		}
		if tick.After(now) {
			return tickWalk{cursor: cursor, next: &tick}, nil
		}
		// The period that ended at or before the tick.
		period := affiliate.PrevPeriod(journal.PeriodOf(tick))
		if period >= first && period != done {
			left, err := s.scheduledClose(ctx, journal.ID, period, tick, now)
			if err != nil || left {
				return tickWalk{leftToOther: left}, err
			}
			done = period
		}
		cursor = tick
	}
	return tickWalk{cursor: cursor, next: &cursor}, nil
}

// scheduledClose closes period for the schedule's tick and saves the tick
// as the program's cursor; left is true when another process runs the
// close.
func (s *Service) scheduledClose(ctx context.Context, program, period string, tick, now time.Time) (left bool, err error) {
	s.log.Info("scheduled close starting", "program", program, "period", period, "tick", tick)
	res, err := s.ClosePeriodAt(ctx, program, period, now)
	if fault.CodeOf(err) == fault.CodeAborted {
		s.log.Info("scheduled close left to another process", "program", program, "period", period, "err", err)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	s.log.Info("scheduled close done", "program", program, "period", period,
		"statements", res.Statements, "already_closed", res.AlreadyClosed)
	return false, store.SaveScheduleCursor(ctx, s.db.Pool, program, tick)
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
// (RunDueCloses), then sealing the journal of every program with rows to
// seal (ledger.ProgramsToSeal), so tampering with a row older than
// ledger.SealLag breaks the chain even if nobody verified, then expiring
// idempotency records past CommandRetention.
func (s *Service) RunScheduled(ctx context.Context, now time.Time) error {
	closeErr := s.RunDueCloses(ctx, now)
	toSeal := func(after string) ([]string, error) {
		return ledger.ProgramsToSeal(ctx, s.db.Pool, s.clock.Now().Add(-ledger.SealLag), after, ledger.PageSizeMax)
	}
	sealErr := forEachListed(toSeal, func(p string) error {
		if err := s.Seal(ctx, p); err != nil {
			return fmt.Errorf("sealing %s: %w", p, err)
		}
		return nil
	})
	_, expireErr := s.ExpireCommands(ctx)
	return errors.Join(closeErr, sealErr, expireErr)
}
