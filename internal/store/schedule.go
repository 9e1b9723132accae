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
