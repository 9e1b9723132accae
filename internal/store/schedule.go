package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// ScheduleCursor returns the last statements-schedule tick the scheduler
// handled for program; found is false when it has handled none.
func ScheduleCursor(ctx context.Context, q ledger.Querier, program string) (cursor time.Time, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT statements_cursor FROM schedules WHERE program_id = $1`, program).Scan(&cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: reading the schedule cursor of %s: %w", program, err)
	}
	return cursor, true, nil
}

// SaveScheduleCursor moves program's schedule cursor forward to tick,
// never back.
func SaveScheduleCursor(ctx context.Context, q ledger.Querier, program string, tick time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO schedules (program_id, statements_cursor) VALUES ($1, $2)
		ON CONFLICT (program_id) DO UPDATE SET statements_cursor = excluded.statements_cursor
		WHERE schedules.statements_cursor < excluded.statements_cursor`, program, tick)
	if err != nil {
		return fmt.Errorf("store: saving the schedule cursor of %s: %w", program, err)
	}
	return nil
}

// DueSchedules lists, in id order, up to limit ids after after of the
// programs the scheduler must look at at now: those whose next statements
// tick is due, those it has not computed the schedule of under their
// latest rules version (new programs, new rules) and none that is
// importing its history. One statement for any number of programs: an
// idle program costs an index probe, not a walk of its schedule.
func DueSchedules(ctx context.Context, q ledger.Querier, now time.Time, after string, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT p.id FROM programs p LEFT JOIN schedules s ON s.program_id = p.id
		WHERE p.id > $2
		  AND NOT EXISTS (SELECT 1 FROM program_imports i WHERE i.program_id = p.id AND i.importing)
		  AND (s.program_id IS NULL OR s.next_tick <= $1
		       OR s.rules_seen <> (SELECT COALESCE(max(r.version), 0) FROM rule_versions r WHERE r.program_id = p.id))
		ORDER BY p.id LIMIT $3`, now, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing programs with a schedule due: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: listing programs with a schedule due: %w", err)
	}
	return ids, nil
}

// SaveSchedule records where a walk of program's statements ticks ended:
// the cursor (never moved back: a walk that another process overtook
// saves nothing), the next tick after it (nil when there is none: no
// rules, or a schedule that never fires again) and the latest rules
// version the walk read before it began.
func SaveSchedule(ctx context.Context, q ledger.Querier, program string, cursor time.Time, next *time.Time, rulesSeen int32) error {
	_, err := q.Exec(ctx, `INSERT INTO schedules (program_id, statements_cursor, next_tick, rules_seen) VALUES ($1, $2, $3, $4)
		ON CONFLICT (program_id) DO UPDATE
		SET statements_cursor = excluded.statements_cursor, next_tick = excluded.next_tick, rules_seen = excluded.rules_seen
		WHERE schedules.statements_cursor <= excluded.statements_cursor`, program, cursor, next, rulesSeen)
	if err != nil {
		return fmt.Errorf("store: saving the schedule of %s: %w", program, err)
	}
	return nil
}
