package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

type shardKey struct {
	account int64
	shard   int16
}

type shardDelta struct {
	amount  decimal.Decimal
	entries int64
}

// balanceDeltas accumulates what a batch adds to each balance shard row.
type balanceDeltas map[shardKey]shardDelta

// add adds t's entries, each to the shard seed picks of its account.
func (d balanceDeltas) add(t Transaction, accounts map[string]Account, seed int64) {
	for _, e := range t.Entries {
		a := accounts[e.Account]
		k := shardKey{a.ID, int16(seed % int64(a.Shards))}
		cur := d[k]
		d[k] = shardDelta{cur.amount.Add(e.Amount), cur.entries + 1}
	}
}

// Owed is what a batch of postings adds to the stored balances, until it
// is applied (PostBatchOwing).
type Owed struct {
	deltas  balanceDeltas
	seed    int64     // picks the batch's shard of each hot account; 0 = unset
	fetched []Account // read from the database (PostBatchOwingIn)
}

// Fetched is the accounts PostBatchOwingIn read from the database rather
// than its cache: once the transaction commits, AccountCache.Remember them.
func (o *Owed) Fetched() []Account { return o.fetched }

// shardSeed is the seed of the batch's shards: its first transaction's
// id. A batch adds to one shard row of each account, whatever its size, so
// that concurrent batches (ids apart) meet on a hot account's row only when
// their seeds fall on the same shard, instead of each batch of more than a
// few postings locking every shard and the batches queueing on them all.
func (o *Owed) shardSeed(id int64) int64 {
	if o.seed == 0 {
		o.seed = id
	}
	return o.seed
}

// Apply adds what the batch owes to the stored balances, in one statement;
// it does nothing the second time.
func (o *Owed) Apply(ctx context.Context, q Querier) error {
	if o == nil || len(o.deltas) == 0 {
		return nil
	}
	d := o.deltas
	o.deltas = nil
	return d.apply(ctx, q)
}

// apply upserts the shard rows in (account, shard) order, so two batches
// lock rows in the same order and cannot deadlock.
func (d balanceDeltas) apply(ctx context.Context, q Querier) error {
	if len(d) == 0 {
		return nil
	}
	keys := make([]shardKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b shardKey) int {
		if a.account != b.account {
			return int(a.account - b.account)
		}
		return int(a.shard - b.shard)
	})
	accounts := make([]int64, len(keys))
	shards := make([]int16, len(keys))
	amounts := make([]string, len(keys))
	counts := make([]int64, len(keys))
	for i, k := range keys {
		accounts[i], shards[i], amounts[i], counts[i] = k.account, k.shard, d[k].amount.String(), d[k].entries
	}
	_, err := q.Exec(ctx, `
		INSERT INTO balances (account_id, shard, balance, entries)
		SELECT a, s, m, c FROM unnest($1::bigint[], $2::smallint[], $3::numeric[], $4::bigint[]) WITH ORDINALITY AS u(a, s, m, c, n)
		ORDER BY n
		ON CONFLICT (account_id, shard) DO UPDATE
		SET balance = balances.balance + excluded.balance, entries = balances.entries + excluded.entries`,
		accounts, shards, amounts, counts)
	if err != nil {
		return fmt.Errorf("ledger: updating balances: %w", err)
	}
	return nil
}

// Balances returns the balances of the given accounts (every account of the
// program when codes is empty), on each account's normal side. With a zero
// asOf they are the stored balances; otherwise the sum of entries whose `at`
// is at or before asOf, read from the snapshots of accounts Snapshot
// enrolled (see snapSQL).
func Balances(ctx context.Context, q Querier, program string, codes []string, asOf time.Time) ([]Balance, error) {
	journal, err := LoadProgram(ctx, q, program)
	if err != nil {
		return nil, err
	}
	const stored = `
		SELECT a.code, a.normal_side, COALESCE((SELECT SUM(b.balance) FROM balances b WHERE b.account_id = a.id), 0)::text
		FROM accounts a WHERE a.program_id = $1 AND (cardinality($2::text[]) = 0 OR a.code = ANY($2)) ORDER BY a.code`
	if codes == nil {
		codes = []string{}
	}
	if !asOf.IsZero() {
		return balancesAsOf(ctx, q, journal, codes, asOf)
	}
	rows, err := q.Query(ctx, stored, program, codes)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading balances: %w", err)
	}
	defer rows.Close()
	var out []Balance
	for rows.Next() {
		var (
			b      Balance
			side   int16
			signed string
		)
		if err := rows.Scan(&b.Account, &side, &signed); err != nil {
			return nil, fmt.Errorf("ledger: scanning balance: %w", err)
		}
		b.NormalSide = Side(side)
		b.Amount = decimal.RequireFromString(signed).Mul(decimal.NewFromInt(int64(side))).Round(journal.Scale)
		out = append(out, b)
	}
	return out, rows.Err()
}

// balancesAsOf is Balances with a non-zero asOf.
func balancesAsOf(ctx context.Context, q Querier, journal *Program, codes []string, asOf time.Time) ([]Balance, error) {
	rows, err := q.Query(ctx, `SELECT a.id, a.code, a.normal_side, EXISTS (SELECT 1 FROM snapshot_accounts s WHERE s.account_id = a.id),
			`+snapViewSQL+`
		FROM accounts a WHERE a.program_id = $1 AND (cardinality($2::text[]) = 0 OR a.code = ANY($2)) ORDER BY a.code`, journal.ID, codes)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading accounts: %w", err)
	}
	var view snapView
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (asOfRow, error) {
		var r asOfRow
		err := row.Scan(&r.id, &r.code, &r.side, &r.enrolled, &view.cut, &view.lo, &view.hi)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: reading accounts: %w", err)
	}
	sums, err := asOfBalances(ctx, q, accounts, view, asOf)
	if err != nil {
		return nil, err
	}
	out := make([]Balance, len(accounts))
	for i, a := range accounts {
		out[i] = Balance{Account: a.code, NormalSide: Side(a.side),
			Amount: decimal.RequireFromString(sums[a.id]).Mul(decimal.NewFromInt(int64(a.side))).Round(journal.Scale)}
	}
	return out, nil
}

// PeriodBalances returns, per account code, the signed sum (on the normal
// side) of entries booked in periods up to and including period, for the
// accounts whose codes start with prefix.
func PeriodBalances(ctx context.Context, q Querier, program, prefix, period string) (map[string]decimal.Decimal, error) {
	rows, err := q.Query(ctx, `
		SELECT a.code, (a.normal_side * COALESCE(SUM(e.amount), 0))::text
		FROM accounts a LEFT JOIN entries e ON e.account_id = a.id AND e.period <= $3
		WHERE a.program_id = $1 AND left(a.code, length($2)) = $2
		GROUP BY a.code, a.normal_side`, program, prefix, period)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading period balances: %w", err)
	}
	defer rows.Close()
	out := map[string]decimal.Decimal{}
	for rows.Next() {
		var code, amount string
		if err := rows.Scan(&code, &amount); err != nil {
			return nil, fmt.Errorf("ledger: scanning period balance: %w", err)
		}
		out[code] = decimal.RequireFromString(amount)
	}
	return out, rows.Err()
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// AccountBalance returns one account's stored balance on its normal side,
// in one round trip; fault NotFound when the account does not exist.
func AccountBalance(ctx context.Context, q Querier, program, code string) (decimal.Decimal, error) {
	var amount *string
	err := q.QueryRow(ctx, `SELECT (a.normal_side * COALESCE((SELECT SUM(b.balance) FROM balances b WHERE b.account_id = a.id), 0))::text
		FROM accounts a WHERE a.program_id = $1 AND a.code = $2`, program, code).Scan(&amount)
	if isNoRows(err) || (err == nil && amount == nil) {
		return decimal.Zero, fault.NotFound("account", "no account %q in program %s", code, program)
	}
	if err != nil {
		return decimal.Zero, fmt.Errorf("ledger: reading balance of %s: %w", code, err)
	}
	return decimal.RequireFromString(*amount), nil
}
