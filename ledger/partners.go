package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

// AccountBalances returns the stored balances of the accounts named in
// codes, each on its normal side as AccountBalance reads it, in one round
// trip; fault NotFound naming the first code (in codes' order) that is not
// an account of the program.
func AccountBalances(ctx context.Context, q Querier, program string, codes []string) (map[string]decimal.Decimal, error) {
	rows, err := q.Query(ctx, accountBalancesSQL, program, codes)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading balances: %w", err)
	}
	defer rows.Close()
	return scanAccountBalances(rows, program, codes)
}

// QueueAccountBalances queues AccountBalances into r: *out is the
// balances once r is sent.
func QueueAccountBalances(r *Pipeline, program string, codes []string, out *map[string]decimal.Decimal) {
	r.Query(accountBalancesSQL, []any{program, codes}, func(rows pgx.Rows) error {
		var err error
		*out, err = scanAccountBalances(rows, program, codes)
		return err
	})
}

// accountBalancesSQL is AccountBalances' statement.
// Each code is probed on its own (a LATERAL subquery fenced by LIMIT),
// whatever the statistics: `code = ANY` over a batch's codes read every
// account of a young program.
const accountBalancesSQL = `SELECT a.code, (a.normal_side * COALESCE((SELECT SUM(b.balance) FROM balances b WHERE b.account_id = a.id), 0))::text
		FROM unnest($2::text[]) AS c(code)
		CROSS JOIN LATERAL (SELECT id, code, normal_side FROM accounts WHERE program_id = $1 AND code = c.code LIMIT 1) a`

// scanAccountBalances reads the rows of accountBalancesSQL.
func scanAccountBalances(rows pgx.Rows, program string, codes []string) (map[string]decimal.Decimal, error) {
	out := make(map[string]decimal.Decimal, len(codes))
	for rows.Next() {
		var code, amount string
		if err := rows.Scan(&code, &amount); err != nil {
			return nil, fmt.Errorf("ledger: scanning balance: %w", err)
		}
		out[code] = decimal.RequireFromString(amount)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: reading balances: %w", err)
	}
	for _, code := range codes {
		if _, ok := out[code]; !ok {
			return nil, fault.NotFound("account", "no account %q in program %s", code, program)
		}
	}
	return out, nil
}

// LockProgramExclusive takes the program's row FOR UPDATE: it waits for
// the commands in flight that hold it FOR SHARE (LockProgram) and keeps new
// ones out until commit. For rare structural changes: rules versions,
// re-links. Fault NotFound when there is no such program.
func LockProgramExclusive(ctx context.Context, q Querier, id string) error {
	var found string
	err := q.QueryRow(ctx, `SELECT id FROM programs WHERE id = $1 FOR UPDATE`, id).Scan(&found)
	if isNoRows(err) {
		return fault.NotFound("program", "no program %q", id)
	}
	if err != nil {
		return fmt.Errorf("ledger: locking program %s: %w", id, err)
	}
	return nil
}
