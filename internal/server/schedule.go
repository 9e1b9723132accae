package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
)

// The statements schedule (SPEC §7): each program's rules name a cron
// schedule; at each tick the period before it is closed. The program's
// schedule cursor remembers the last tick handled, so the next run resumes
// after it.

// RunDueCloses closes, for every program, the period before each tick of
// its statements schedule that is after the program's schedule cursor and
// at or before now, in time order, and advances the cursor. A period whose
// close another process is running is left to it. The scheduler calls it
// periodically; a replay calls it before each step with the step's time.
func (s *Server) RunDueCloses(ctx context.Context, now time.Time) error {
	var (
		errs  []error
		after string
	)
	for {
		rows, err := s.db.Pool.Query(ctx, `SELECT id FROM programs WHERE id > $1 ORDER BY id LIMIT $2`,
			after, ledger.MaxPageSize)
		if err != nil {
			return fmt.Errorf("server: listing programs: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("server: listing programs: %w", err)
		}
		for _, id := range ids {
			if err := s.runDueProgram(ctx, id, now); err != nil {
				s.log.Error("scheduled close failed", "program", id, "err", err)
				errs = append(errs, fmt.Errorf("program %s: %w", id, err))
			}
		}
		if len(ids) < ledger.MaxPageSize {
			return errors.Join(errs...)
		}
		after = ids[len(ids)-1]
	}
}

// runDueProgram walks one program's due schedule ticks.
func (s *Server) runDueProgram(ctx context.Context, program string, now time.Time) error {
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return err
	}
	var created, cursor time.Time
	if err := s.db.Pool.QueryRow(ctx, `SELECT created_at, schedule_cursor FROM programs WHERE id = $1`,
		program).Scan(&created, &cursor); err != nil {
		return fmt.Errorf("server: reading schedule cursor: %w", err)
	}
	first, done := prog.PeriodOf(created), ""
	start := cursor
	for range scheduleTicksMax {
		_, rp, err := s.versionAt(ctx, s.db.Pool, program, cursor)
		if fault.CodeOf(err) == fault.NotFound {
			return nil // no rules yet: nothing is scheduled
		}
		if err != nil {
			return err
		}
		sched, err := parseSchedule(rp.Schedule, prog.Location)
		if err != nil {
			return err
		}
		tick := sched.Next(cursor)
		if tick.IsZero() || tick.After(now) {
			break
		}
		// The period that ended at or before the tick.
		period := prevPeriod(prog.PeriodOf(tick))
		if period >= first && period != done {
			_, err := s.closePeriod(ctx, program, period, now)
			if fault.CodeOf(err) == fault.Aborted {
				s.log.Info("scheduled close left to another process", "program", program, "period", period, "err", err)
				return nil
			}
			if err != nil {
				return err
			}
			done = period
			if err := saveCursor(ctx, s.db.Pool, program, tick); err != nil {
				return err
			}
		}
		cursor = tick
	}
	if cursor.After(start) {
		return saveCursor(ctx, s.db.Pool, program, cursor)
	}
	return nil
}

// parseSchedule reads a rules document's statements.schedule in loc.
func parseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	sched, err := cron.ParseStandard("CRON_TZ=" + loc.String() + " " + expr)
	if err != nil {
		return nil, fmt.Errorf("server: statements schedule %q: %w", expr, err)
	}
	return sched, nil
}

// saveCursor moves the schedule cursor forward, never back.
func saveCursor(ctx context.Context, q querier, program string, tick time.Time) error {
	_, err := q.Exec(ctx, `UPDATE programs SET schedule_cursor = $2 WHERE id = $1 AND schedule_cursor < $2`, program, tick)
	if err != nil {
		return fmt.Errorf("server: saving schedule cursor: %w", err)
	}
	return nil
}

// RunScheduled runs every scheduled job due at now: the statement closes
// (RunDueCloses), then sealing every program's journal, so tampering with
// a row older than ledger.SealLag breaks the chain even if nobody verified,
// then expiring idempotency records past CommandRetention.
func (s *Server) RunScheduled(ctx context.Context, now time.Time) error {
	closeErr := s.RunDueCloses(ctx, now)
	rows, err := s.db.Pool.Query(ctx, `SELECT id FROM programs ORDER BY id`)
	if err != nil {
		return errors.Join(closeErr, fmt.Errorf("server: listing programs: %w", err))
	}
	programs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return errors.Join(closeErr, fmt.Errorf("server: listing programs: %w", err))
	}
	errs := []error{closeErr}
	for _, p := range programs {
		if err := s.svc.Seal(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("sealing %s: %w", p, err))
		}
	}
	if err := s.svc.ExpireCommands(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
