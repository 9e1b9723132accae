package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

const txColumns = `t.id, t.program_id, t.kind, t.idempotency_key, t.at, t.period, t.refs, t.metadata, COALESCE(t.reverses_id, 0), t.hash`

func scanTransaction(row pgx.Row) (Transaction, error) {
	var (
		t          Transaction
		refs, meta []byte
	)
	if err := row.Scan(&t.ID, &t.Program, &t.Kind, &t.Key, &t.At, &t.Period, &refs, &meta, &t.ReversesID, &t.Hash); err != nil {
		return Transaction{}, fmt.Errorf("ledger: scanning transaction: %w", err)
	}
	t.At = t.At.UTC()
	if err := json.Unmarshal(refs, &t.Refs); err != nil {
		return Transaction{}, fmt.Errorf("ledger: transaction %d refs: %w", t.ID, err)
	}
	if err := json.Unmarshal(meta, &t.Metadata); err != nil {
		return Transaction{}, fmt.Errorf("ledger: transaction %d metadata: %w", t.ID, err)
	}
	return t, nil
}

// Get reads one transaction with its entries; fault NotFound when absent.
func Get(ctx context.Context, q Querier, program string, id int64) (Transaction, error) {
	t, err := scanTransaction(q.QueryRow(ctx, `SELECT `+txColumns+` FROM transactions t WHERE t.program_id = $1 AND t.id = $2`, program, id))
	if isNoRows(err) {
		return Transaction{}, fault.NotFound("id", "no transaction %d in program %s", id, program)
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("ledger: reading transaction %d: %w", id, err)
	}
	ts := []Transaction{t}
	if err := attachEntries(ctx, q, ts); err != nil {
		return Transaction{}, err
	}
	return ts[0], nil
}

// attachEntries loads the entries of ts in one query.
func attachEntries(ctx context.Context, q Querier, ts []Transaction) error {
	if len(ts) == 0 {
		return nil
	}
	ids := make([]int64, len(ts))
	index := make(map[int64]int, len(ts))
	for i, t := range ts {
		ids[i], index[t.ID] = t.ID, i
	}
	rows, err := q.Query(ctx, `SELECT e.id, e.transaction_id, a.code, e.amount::text, e.at, e.period
		FROM entries e JOIN accounts a ON a.id = e.account_id
		WHERE e.transaction_id = ANY($1) ORDER BY e.id`, ids)
	if err != nil {
		return fmt.Errorf("ledger: reading entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return err
		}
		i := index[e.TransactionID]
		ts[i].Entries = append(ts[i].Entries, e)
	}
	return rows.Err()
}

func scanEntry(row pgx.Row) (Entry, error) {
	var (
		e      Entry
		amount string
	)
	if err := row.Scan(&e.ID, &e.TransactionID, &e.Account, &amount, &e.At, &e.Period); err != nil {
		return Entry{}, fmt.Errorf("ledger: scanning entry: %w", err)
	}
	e.At = e.At.UTC()
	e.Amount = decimal.RequireFromString(amount)
	return e, nil
}

// TransactionFilter narrows ListTransactions.
type TransactionFilter struct {
	// Refs: only transactions whose references include all of these.
	Refs map[string]string
	// Order: only transactions referencing this order; served by the
	// expression index on refs->>'order'.
	Order string
	// AfterID is the keyset cursor: only ids greater than it.
	AfterID int64
	Limit   int
}

// ListTransactions pages through a program's transactions in id order.
func ListTransactions(ctx context.Context, q Querier, program string, f TransactionFilter) ([]Transaction, error) {
	limit := PageSize(f.Limit)
	refs, _ := json.Marshal(nonNil(f.Refs))
	where := `t.program_id = $1 AND t.id > $2 AND t.refs @> $3::jsonb`
	args := []any{program, f.AfterID, refs, limit}
	if f.Order != "" {
		where += ` AND t.refs ->> 'order' = $5`
		args = append(args, f.Order)
	}
	rows, err := q.Query(ctx, `SELECT `+txColumns+` FROM transactions t WHERE `+where+` ORDER BY t.id LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: listing transactions: %w", err)
	}
	var ts []Transaction
	for rows.Next() {
		t, err := scanTransaction(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ts = append(ts, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: listing transactions: %w", err)
	}
	return ts, attachEntries(ctx, q, ts)
}

// ListEntries pages through one account's entries in id order.
func ListEntries(ctx context.Context, q Querier, program, account string, afterID int64, limit int) ([]Entry, error) {
	accounts, err := loadAccounts(ctx, q, program, []string{account})
	if err != nil {
		return nil, err
	}
	a, ok := accounts[account]
	if !ok {
		return nil, fault.NotFound("account", "no account %q in program %s", account, program)
	}
	rows, err := q.Query(ctx, `SELECT e.id, e.transaction_id, $2::text, e.amount::text, e.at, e.period
		FROM entries e WHERE e.account_id = $1 AND e.id > $3 ORDER BY e.id LIMIT $4`,
		a.ID, a.Code, afterID, PageSize(limit))
	if err != nil {
		return nil, fmt.Errorf("ledger: listing entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Reverse posts a transaction that mirrors transaction id, referencing it.
// A transaction is reversed at most once. requestHash identifies the
// request (see Posting.RequestHash): the same key and request hash replay
// the first reversal even when at, and so the booking period, differ; nil
// falls back to the reversal's content. recorded is Posting.Recorded.
func Reverse(ctx context.Context, tx pgx.Tx, program string, id int64, key string, at time.Time, reason string, requestHash []byte,
	recorded time.Time) (Transaction, bool, error) {
	orig, err := Get(ctx, tx, program, id)
	if err != nil {
		return Transaction{}, false, err
	}
	if orig.ReversesID != 0 {
		return Transaction{}, false, fault.FailedPrecondition("transaction_id", "transaction %d is itself a reversal", id)
	}
	p := Posting{
		Program: program, Key: key, Kind: "reversal", At: at,
		Refs:        map[string]string{"reverses": fmt.Sprint(id)},
		Metadata:    map[string]string{},
		ReversesID:  id,
		RequestHash: requestHash,
		Recorded:    recorded,
	}
	if reason != "" {
		p.Metadata["reason"] = reason
	}
	for _, e := range orig.Entries {
		side := Credit
		if e.Amount.IsNegative() {
			side = Debit
		}
		p.Legs = append(p.Legs, Leg{Account: e.Account, Side: side, Amount: e.Amount.Abs()})
	}
	return Post(ctx, tx, p)
}

// TrialBalance is every account's balance with the signed total.
type TrialBalance struct {
	Balances []Balance
	Debits   decimal.Decimal
	Credits  decimal.Decimal
	// Total is debits minus credits; zero in a sound journal.
	Total decimal.Decimal
}

// GetTrialBalance computes the trial balance, now or as of asOf.
func GetTrialBalance(ctx context.Context, q Querier, program string, asOf time.Time) (TrialBalance, error) {
	bs, err := Balances(ctx, q, program, nil, asOf)
	if err != nil {
		return TrialBalance{}, err
	}
	tb := TrialBalance{Balances: bs}
	for _, b := range bs {
		signed := b.Amount.Mul(decimal.NewFromInt(int64(b.NormalSide)))
		if signed.IsPositive() {
			tb.Debits = tb.Debits.Add(signed)
		} else {
			tb.Credits = tb.Credits.Add(signed.Neg())
		}
	}
	tb.Total = tb.Debits.Sub(tb.Credits)
	return tb, nil
}

// PageSize is the page size a list call uses when asked for n rows:
// PageSizeDefault for n <= 0, at most PageSizeMax.
func PageSize(n int) int {
	if n <= 0 {
		return PageSizeDefault
	}
	return min(n, PageSizeMax)
}
