package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// The journal reads of a period close: what orders have pending, the
// statement balances and lines of partners' accounts, the releases already
// posted, and the program's open period and creation time.

// OrderBalance is what one order's transactions left on one account in one
// booking period, on the credit side (credit-normal balance), and the
// latest `at` of those entries.
type OrderBalance struct {
	Order, Period, Account string
	Credit                 decimal.Decimal
	Latest                 time.Time
}

// OrderBalances sums, per order (refs "order", one of orders), account
// (codes starting with prefix and ending with suffix) and booking period,
// the entries of the orders' transactions; every period up to upTo counts
// as upTo. Rows are ordered by order, period and account.
func OrderBalances(ctx context.Context, q Querier, program string, orders []string, upTo, prefix, suffix string) ([]OrderBalance, error) {
	rows, err := q.Query(ctx, `
		SELECT t.refs->>'order', CASE WHEN e.period <= $3 THEN $3 ELSE e.period END, a.code, (-SUM(e.amount))::text, max(e.at)
		FROM transactions t
		JOIN entries e ON e.transaction_id = t.id
		JOIN accounts a ON a.id = e.account_id
		WHERE t.program_id = $1 AND t.refs->>'order' = ANY($2)
		  AND left(a.code, length($4)) = $4 AND right(a.code, length($5)) = $5
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, program, orders, upTo, prefix, suffix)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the balances of orders: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderBalance, error) {
		var (
			b      OrderBalance
			amount string
		)
		if err := r.Scan(&b.Order, &b.Period, &b.Account, &amount, &b.Latest); err != nil {
			return b, err
		}
		b.Credit, err = decimal.NewFromString(amount)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the balances of orders: %w", err)
	}
	return out, nil
}

// OpeningClosing are an account's balances (on its normal side) booked up
// to two periods.
type OpeningClosing struct {
	Opening, Closing decimal.Decimal
}

// BalancesAround returns, per account of codes that exists, its balance
// booked up to the period opening and up to closing (opening < closing).
func BalancesAround(ctx context.Context, q Querier, program string, codes []string, opening, closing string) (map[string]OpeningClosing, error) {
	rows, err := q.Query(ctx, `
		SELECT a.code,
			(a.normal_side * COALESCE(SUM(e.amount) FILTER (WHERE e.period <= $3), 0))::text,
			(a.normal_side * COALESCE(SUM(e.amount), 0))::text
		FROM accounts a LEFT JOIN entries e ON e.account_id = a.id AND e.period <= $4
		WHERE a.program_id = $1 AND a.code = ANY($2)
		GROUP BY a.code, a.normal_side`, program, codes, opening, closing)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading balances around %s: %w", closing, err)
	}
	defer rows.Close()
	out := make(map[string]OpeningClosing, len(codes))
	for rows.Next() {
		var code, o, c string
		if err := rows.Scan(&code, &o, &c); err != nil {
			return nil, fmt.Errorf("ledger: scanning a balance: %w", err)
		}
		out[code] = OpeningClosing{Opening: decimal.RequireFromString(o), Closing: decimal.RequireFromString(c)}
	}
	return out, rows.Err()
}

// PeriodEntry is one entry booked in a period, with its transaction's id,
// kind, time and references; Amount is on the account's normal side.
type PeriodEntry struct {
	TransactionID int64
	Kind          string
	At            time.Time
	Refs          map[string]string
	Account       string
	Amount        decimal.Decimal
}

// EntriesIn returns the entries booked in period on the accounts of codes,
// in time order (then transaction and entry id).
func EntriesIn(ctx context.Context, q Querier, program string, codes []string, period string) ([]PeriodEntry, error) {
	rows, err := q.Query(ctx, `
		SELECT t.id, t.kind, t.at, t.refs, a.code, (a.normal_side * e.amount)::text
		FROM entries e
		JOIN accounts a ON a.id = e.account_id
		JOIN transactions t ON t.id = e.transaction_id
		WHERE a.program_id = $1 AND a.code = ANY($2) AND e.period = $3
		ORDER BY t.at, t.id, e.id`, program, codes, period)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the entries of %s: %w", period, err)
	}
	defer rows.Close()
	var out []PeriodEntry
	for rows.Next() {
		var (
			e        PeriodEntry
			amount   string
			refsJSON []byte
		)
		if err := rows.Scan(&e.TransactionID, &e.Kind, &e.At, &refsJSON, &e.Account, &amount); err != nil {
			return nil, fmt.Errorf("ledger: scanning an entry: %w", err)
		}
		if err := json.Unmarshal(refsJSON, &e.Refs); err != nil {
			return nil, fmt.Errorf("ledger: transaction %d refs: %w", e.TransactionID, err)
		}
		e.Amount = decimal.RequireFromString(amount)
		out = append(out, e)
	}
	return out, rows.Err()
}

// KeyedEntry is one entry of a transaction found by its idempotency key;
// Amount is signed (debits positive).
type KeyedEntry struct {
	Key     string
	Refs    map[string]string
	Account string
	Amount  decimal.Decimal
}

// EntriesByKey returns the entries of the program's transactions whose
// idempotency key is one of keys.
func EntriesByKey(ctx context.Context, q Querier, program string, keys []string) ([]KeyedEntry, error) {
	rows, err := q.Query(ctx, `SELECT t.idempotency_key, t.refs, a.code, e.amount::text FROM transactions t
		JOIN entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id
		WHERE t.program_id = $1 AND t.idempotency_key = ANY($2)`, program, keys)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading transactions by key: %w", err)
	}
	defer rows.Close()
	var out []KeyedEntry
	for rows.Next() {
		var (
			e        KeyedEntry
			amount   string
			refsJSON []byte
		)
		if err := rows.Scan(&e.Key, &refsJSON, &e.Account, &amount); err != nil {
			return nil, fmt.Errorf("ledger: scanning an entry: %w", err)
		}
		if err := json.Unmarshal(refsJSON, &e.Refs); err != nil {
			return nil, fmt.Errorf("ledger: transaction %q refs: %w", e.Key, err)
		}
		e.Amount = decimal.RequireFromString(amount)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MoveOpenPeriod moves the program's open period forward to from (never
// back). It waits for commands holding the program row FOR SHARE (they
// decide a booking period); every later one books at or after from.
func MoveOpenPeriod(ctx context.Context, tx pgx.Tx, program string, from time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE programs SET open_from = $2
		WHERE id = $1 AND (open_from IS NULL OR open_from < $2)`, program, from)
	if err != nil {
		return fmt.Errorf("ledger: moving the open period of %s: %w", program, err)
	}
	return nil
}

// ProgramCreated is when the program was created in the journal.
func ProgramCreated(ctx context.Context, q Querier, program string) (time.Time, error) {
	var created time.Time
	if err := q.QueryRow(ctx, `SELECT created_at FROM programs WHERE id = $1`, program).Scan(&created); err != nil {
		return time.Time{}, fmt.Errorf("ledger: reading program %s: %w", program, err)
	}
	return created, nil
}
