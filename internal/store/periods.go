package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Lease is one close run's claim on a period: the periods row names its
// holder in claimed_by, and claimed_until (by the database's clock, so the
// hosts' clocks need not agree) is when the claim lapses.
type Lease struct {
	Program, Period, Holder string
}

// PeriodClaim is a periods row as a claim that failed reads it.
type PeriodClaim struct {
	Status, By string
	Until      time.Time
}

// ClaimPeriod takes the lease on closing l's period for ttl: when the
// period is new to the periods table or its last claim lapsed. claimed is
// false when it is closed or claimed live by another run; then the row is
// returned as it is.
func ClaimPeriod(ctx context.Context, tx pgx.Tx, l Lease, ttl time.Duration) (claimed bool, row PeriodClaim, err error) {
	var status string
	err = tx.QueryRow(ctx, `
		INSERT INTO periods (program_id, period, status, claimed_by, claimed_until)
		VALUES ($1, $2, 'closing', $3, clock_timestamp() + $4::interval)
		ON CONFLICT (program_id, period) DO UPDATE
		SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
		WHERE periods.status = 'closing' AND periods.claimed_until <= clock_timestamp()
		RETURNING status`, l.Program, l.Period, l.Holder, ttl).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT status, claimed_by, claimed_until FROM periods
			WHERE program_id = $1 AND period = $2`, l.Program, l.Period).Scan(&row.Status, &row.By, &row.Until)
		if err != nil {
			return false, row, fmt.Errorf("store: reading period %s: %w", l.Period, err)
		}
		return false, row, nil
	}
	if err != nil {
		return false, row, fmt.Errorf("store: claiming period %s: %w", l.Period, err)
	}
	return true, row, nil
}

// HoldsLease reports whether l's run still holds the lease on its closing
// period. It share-locks the periods row until tx ends, so no takeover
// commits while tx writes.
func HoldsLease(ctx context.Context, tx pgx.Tx, l Lease) (bool, error) {
	var holds bool
	err := tx.QueryRow(ctx, `SELECT claimed_by = $3 FROM periods
		WHERE program_id = $1 AND period = $2 AND status = 'closing' FOR SHARE`,
		l.Program, l.Period, l.Holder).Scan(&holds)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: checking the lease on %s: %w", l.Period, err)
	}
	return holds, nil
}

// RenewLease extends the lease by ttl from now; held is false when another
// run took it over. A period this run has closed stays its own (the row is
// left as it is): the run may still be finishing its last statement.
func RenewLease(ctx context.Context, q ledger.Querier, l Lease, ttl time.Duration) (held bool, err error) {
	tag, err := q.Exec(ctx, `UPDATE periods SET claimed_until = CASE WHEN status = 'closing'
			THEN clock_timestamp() + $4::interval ELSE claimed_until END
		WHERE program_id = $1 AND period = $2 AND claimed_by = $3`,
		l.Program, l.Period, l.Holder, ttl)
	if err != nil {
		return false, fmt.Errorf("store: renewing the lease on %s: %w", l.Period, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease gives the lease up, so the close can be resumed at once.
func ReleaseLease(ctx context.Context, q ledger.Querier, l Lease) error {
	_, err := q.Exec(ctx, `UPDATE periods SET claimed_until = clock_timestamp()
		WHERE program_id = $1 AND period = $2 AND status = 'closing' AND claimed_by = $3`,
		l.Program, l.Period, l.Holder)
	if err != nil {
		return fmt.Errorf("store: releasing the lease on %s: %w", l.Period, err)
	}
	return nil
}

// MarkClosed marks l's period closed at `at`, if l's run holds it; else it
// returns the period's status (another run may have closed it first).
func MarkClosed(ctx context.Context, q ledger.Querier, l Lease, at time.Time) (marked bool, status string, err error) {
	tag, err := q.Exec(ctx, `UPDATE periods SET status = 'closed', closed_at = $4
		WHERE program_id = $1 AND period = $2 AND status = 'closing' AND claimed_by = $3`,
		l.Program, l.Period, l.Holder, at)
	if err != nil {
		return false, "", fmt.Errorf("store: marking %s closed: %w", l.Period, err)
	}
	if tag.RowsAffected() == 1 {
		return true, "closed", nil
	}
	if err := q.QueryRow(ctx, `SELECT status FROM periods WHERE program_id = $1 AND period = $2`,
		l.Program, l.Period).Scan(&status); err != nil {
		return false, "", fmt.Errorf("store: reading period %s: %w", l.Period, err)
	}
	return false, status, nil
}

// ClosedPeriods returns the closed periods of program in [from, to).
func ClosedPeriods(ctx context.Context, q ledger.Querier, program, from, to string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT period FROM periods
		WHERE program_id = $1 AND status = 'closed' AND period >= $2 AND period < $3`, program, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: reading closed periods: %w", err)
	}
	ps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: reading closed periods: %w", err)
	}
	out := make(map[string]bool, len(ps))
	for _, p := range ps {
		out[p] = true
	}
	return out, nil
}

// ClosingPartner is a partner as a close sees it: Stated when its
// statement of the period is written (the partner is done).
type ClosingPartner struct {
	ID     string
	Active bool
	Stated bool
}

// ClosingPage returns up to limit partners of program after the id after,
// in id order, each with whether its statement of period exists: one
// query, a keyset page, so a close walks any number of partners in
// bounded memory.
func ClosingPage(ctx context.Context, q ledger.Querier, program, period, after string, limit int) ([]ClosingPartner, error) {
	// The page is taken first (the primary key's order), then each of its
	// rows probes statements' primary key: a join would let the planner
	// scan the period's statements whole on every page.
	rows, err := q.Query(ctx, `SELECT p.id, p.status = 'active', EXISTS (SELECT 1 FROM statements s
			WHERE s.program_id = p.program_id AND s.partner_id = p.id AND s.period = $2)
		FROM (SELECT program_id, id, status FROM partners WHERE program_id = $1 AND id > $3 ORDER BY id LIMIT $4) p
		ORDER BY p.id`, program, period, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing partners: %w", err)
	}
	partners, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClosingPartner, error) {
		var p ClosingPartner
		err := r.Scan(&p.ID, &p.Active, &p.Stated)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing partners: %w", err)
	}
	return partners, nil
}

// CountPartners counts a program's partners.
func CountPartners(ctx context.Context, q ledger.Querier, program string) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM partners WHERE program_id = $1`, program).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting partners: %w", err)
	}
	return n, nil
}

// LockOrdersToMature locks (FOR UPDATE) and returns, in id order, up to
// limit orders of program after the id after that accrued, are not
// matured, and whose hold ended by end.
func LockOrdersToMature(ctx context.Context, tx pgx.Tx, program string, end time.Time, after string, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM orders
		WHERE program_id = $1 AND NOT matured AND accrued AND matures_at <= $2 AND id > $3
		ORDER BY id LIMIT $4 FOR UPDATE`, program, end, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: selecting orders to mature: %w", err)
	}
	orders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: selecting orders to mature: %w", err)
	}
	return orders, nil
}

// MarkMatured marks orders of program matured.
func MarkMatured(ctx context.Context, tx pgx.Tx, program string, orders []string) error {
	if _, err := tx.Exec(ctx, `UPDATE orders SET matured = true WHERE program_id = $1 AND id = ANY($2)`,
		program, orders); err != nil {
		return fmt.Errorf("store: marking orders matured: %w", err)
	}
	return nil
}
