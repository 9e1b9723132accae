package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// PeriodState is a periods row as GetPeriod reads it, with its statements'
// count and what they released so far. Found is false for a period no close
// has started (it is open).
type PeriodState struct {
	Found               bool
	Status              string
	PartnersDone, Total int32
	Statements          int32
	Released            decimal.Decimal
	StartedAt, ClosedAt *time.Time
	ClaimedBy           string
	ClaimedUntil        time.Time
	LeaseLive           bool
}

// StartProgress records, for l's run, when the close started (kept from an
// earlier run it resumes) and how many partners it walks; done restarts at
// zero, since a resumed run walks them all again. Progress lives in its own
// table (period_progress), not in the periods row the lease's heartbeat
// renews, so that a batch recording it never conflicts with a renewal.
func StartProgress(ctx context.Context, q ledger.Querier, l Lease, total int, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO period_progress (program_id, period, holder, started_at, partners_total, partners_done)
		VALUES ($1, $2, $3, $5, $4, 0)
		ON CONFLICT (program_id, period) DO UPDATE
		SET holder = excluded.holder, partners_total = excluded.partners_total, partners_done = 0`,
		l.Program, l.Period, l.Holder, total, at)
	if err != nil {
		return fmt.Errorf("store: recording the start of closing %s: %w", l.Period, err)
	}
	return nil
}

// SetProgress records that l's run has done the first done partners; run it
// in the batch's transaction, after the lease check.
func SetProgress(ctx context.Context, tx pgx.Tx, l Lease, done int) error {
	_, err := tx.Exec(ctx, `UPDATE period_progress SET partners_done = $4
		WHERE program_id = $1 AND period = $2 AND holder = $3`, l.Program, l.Period, l.Holder, done)
	if err != nil {
		return fmt.Errorf("store: recording the progress of closing %s: %w", l.Period, err)
	}
	return nil
}

// LoadPeriod reads period of program: its row and its statements so far.
func LoadPeriod(ctx context.Context, q ledger.Querier, program, period string) (PeriodState, error) {
	var st PeriodState
	err := q.QueryRow(ctx, `SELECT p.status, COALESCE(g.partners_done, 0), COALESCE(g.partners_total, 0), g.started_at,
			p.closed_at, p.claimed_by, p.claimed_until, p.claimed_until > clock_timestamp()
		FROM periods p LEFT JOIN period_progress g ON g.program_id = p.program_id AND g.period = p.period
		WHERE p.program_id = $1 AND p.period = $2`, program, period).Scan(
		&st.Status, &st.PartnersDone, &st.Total, &st.StartedAt, &st.ClosedAt, &st.ClaimedBy, &st.ClaimedUntil, &st.LeaseLive)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: reading period %s: %w", period, err)
	}
	st.Found = true
	st.Statements, st.Released, err = PeriodSummary(ctx, q, program, period)
	return st, err
}

// ClosingLive reports whether a close of program holds a live lease on
// any period up to period: another run is working on it.
func ClosingLive(ctx context.Context, q ledger.Querier, program, period string) (bool, error) {
	var live bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM periods WHERE program_id = $1 AND period <= $2
		AND status = 'closing' AND claimed_until > clock_timestamp())`, program, period).Scan(&live)
	if err != nil {
		return false, fmt.Errorf("store: reading the leases of %s: %w", program, err)
	}
	return live, nil
}
