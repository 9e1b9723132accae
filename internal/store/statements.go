package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// StatementRow is a statement as written: its partner, status, released
// amount (formatted in the program's currency) and encoded body (JSON).
type StatementRow struct {
	Partner, Status, Released string
	Body                      []byte
}

// InsertStatements writes sts, statements of period issued at `issued`, in
// one statement; a partner's statement that exists already is kept. They
// are recorded (created_at, which the sealer compares with its cutoff) when
// issued: read issued from the service's clock inside the attempt of the
// transaction that writes them (ledger.Posting.Recorded).
func InsertStatements(ctx context.Context, q ledger.Querier, program, period string, sts []StatementRow, issued time.Time) error {
	if len(sts) == 0 {
		return nil
	}
	partners, statuses, released, bodies := make([]string, len(sts)), make([]string, len(sts)), make([]string, len(sts)), make([]string, len(sts))
	for i, st := range sts {
		partners[i], statuses[i], released[i], bodies[i] = st.Partner, st.Status, st.Released, string(st.Body)
	}
	_, err := q.Exec(ctx, `INSERT INTO statements (program_id, partner_id, period, status, released, body, issued_at, created_at)
		SELECT $1, u.partner, $2, u.status, u.released::numeric, u.body::jsonb, $7, $7
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS u(partner, status, released, body)
		ON CONFLICT DO NOTHING`, program, period, partners, statuses, released, bodies, issued)
	if err != nil {
		return fmt.Errorf("store: writing the %s statements: %w", period, err)
	}
	return nil
}

// StatementFilter selects stored statements: of Partner and Period when
// not empty, after the keyset position After (period, partner; empty for
// the start), at most Limit of them.
type StatementFilter struct {
	Program, Partner, Period string
	After                    [2]string
	Limit                    int
}

// StatementBodies reads the bodies of the statements f selects, ordered by
// period then partner.
func StatementBodies(ctx context.Context, q ledger.Querier, f StatementFilter) ([][]byte, error) {
	rows, err := q.Query(ctx, `SELECT body FROM statements
		WHERE program_id = $1 AND ($2::text = '' OR partner_id = $2) AND ($3::text = '' OR period = $3)
		  AND (period, partner_id) > ($4::text, $5::text)
		ORDER BY period, partner_id LIMIT $6`, f.Program, f.Partner, f.Period, f.After[0], f.After[1], f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: reading statements: %w", err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("store: reading statements: %w", err)
	}
	return bodies, nil
}

// PeriodSummary counts a period's statements and sums what they released.
func PeriodSummary(ctx context.Context, q ledger.Querier, program, period string) (int32, decimal.Decimal, error) {
	var (
		n        int32
		released string
	)
	err := q.QueryRow(ctx, `SELECT count(*), COALESCE(SUM(released), 0)::text FROM statements
		WHERE program_id = $1 AND period = $2`, program, period).Scan(&n, &released)
	if err != nil {
		return 0, decimal.Zero, fmt.Errorf("store: summarising %s: %w", period, err)
	}
	d, err := decimal.NewFromString(released)
	return n, d, err
}
