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

// A batch of postings is written by one statement, whatever its size: the
// transactions from arrays (unnest) unless their keys exist, and the
// entries of those inserted, joined to them by key. A pipeline of one
// statement per posting costs the database a statement's overhead (parse,
// plan, executor start) per posting; at a close's thousand releases that
// was most of its time.

// insertSet is one batch's rows as arrays, in posting order; legs are
// flattened, each naming its posting's key.
type insertSet struct {
	kinds, keys, periods, refs, metas []string
	requestHashes, hashes             [][]byte
	ats, recorded                     []time.Time
	reverses                          []*int64
	legKeys, legAmounts               []string
	legAccounts                       []int64
}

// add fills t (without ids) from p and adds its rows to set;
// it returns the request hash to check a replay against.
func (set *insertSet) add(journal *Program, accounts map[string]Account, p Posting, t *Transaction) ([]byte, error) {
	*t = Transaction{
		Program: p.Program, Kind: p.Kind, Key: p.Key, At: p.At.UTC().Truncate(time.Microsecond),
		Period: p.Period, Refs: nonNil(p.Refs), Metadata: nonNil(p.Metadata), ReversesID: p.ReversesID,
	}
	if t.Period == "" {
		t.Period = journal.BookingPeriod(t.At)
	}
	for i, l := range p.Legs {
		a, ok := accounts[l.Account]
		if !ok {
			return nil, unknownAccount(i, l.Account)
		}
		signed := l.Amount.Mul(decimal.NewFromInt(int64(l.Side)))
		set.legKeys, set.legAccounts = append(set.legKeys, p.Key), append(set.legAccounts, a.ID)
		set.legAmounts = append(set.legAmounts, signed.StringFixed(journal.Scale))
		t.Entries = append(t.Entries, Entry{Account: l.Account, Amount: signed, At: t.At, Period: t.Period})
	}
	assertBalanced(t.Entries)
	t.Hash = contentHash(*t, journal.Scale)
	requestHash := p.RequestHash
	if requestHash == nil {
		requestHash = t.Hash
	}
	refs, _ := json.Marshal(t.Refs)
	meta, _ := json.Marshal(t.Metadata)
	var reverses *int64
	if t.ReversesID != 0 {
		reverses = &t.ReversesID
	}
	set.kinds, set.keys, set.periods = append(set.kinds, t.Kind), append(set.keys, t.Key), append(set.periods, t.Period)
	set.refs, set.metas = append(set.refs, string(refs)), append(set.metas, string(meta))
	set.requestHashes, set.hashes = append(set.requestHashes, requestHash), append(set.hashes, t.Hash)
	set.ats, set.recorded, set.reverses = append(set.ats, t.At), append(set.recorded, p.Recorded), append(set.reverses, reverses)
	return requestHash, nil
}

// insertSetSQL writes a batch's transactions unless their key exists, then
// the entries of those it wrote, in posting and leg order, and returns the
// entries written with their transaction's key.
const insertSetSQL = `
	WITH t AS (
		INSERT INTO transactions (program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, reverses_id, hash, created_at)
		SELECT $1, u.kind, u.key, u.request_hash, u.at, u.period, u.refs::jsonb, u.meta::jsonb, u.reverses, u.hash, u.recorded
		FROM unnest($2::text[], $3::text[], $4::bytea[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bytea[], $11::timestamptz[])
			WITH ORDINALITY AS u(kind, key, request_hash, at, period, refs, meta, reverses, hash, recorded, n)
		ORDER BY u.n
		ON CONFLICT (program_id, idempotency_key) DO NOTHING
		RETURNING id, idempotency_key, at, period),
	e AS (
		INSERT INTO entries (transaction_id, account_id, amount, at, period)
		SELECT t.id, l.account_id, l.amount, t.at, t.period
		FROM unnest($12::text[], $13::bigint[], $14::numeric[]) WITH ORDINALITY AS l(key, account_id, amount, n)
		JOIN t ON t.idempotency_key = l.key
		ORDER BY l.n
		RETURNING transaction_id, id, account_id, amount::text)
	SELECT t.idempotency_key, e.transaction_id, e.id, e.account_id, e.amount FROM e JOIN t ON t.id = e.transaction_id`

// insertAll writes set in one statement and fills the ids of txs (in
// set's order) it wrote; fresh[i] is false when txs[i]'s key existed
// (then nothing was written for it). RETURNING promises no order, so each
// entry is matched to a leg by key, account and amount.
func insertAll(ctx context.Context, tx pgx.Tx, program string, set *insertSet, accounts map[string]Account, txs []Transaction) ([]bool, error) {
	rows, err := tx.Query(ctx, insertSetSQL, program, set.kinds, set.keys, set.requestHashes, set.ats, set.periods,
		set.refs, set.metas, set.reverses, set.hashes, set.recorded, set.legKeys, set.legAccounts, set.legAmounts)
	if err != nil {
		return nil, insertBatchError(txs, err)
	}
	defer rows.Close()
	byKey := make(map[string]int, len(txs))
	for i := len(txs) - 1; i >= 0; i-- {
		byKey[txs[i].Key] = i // the first posting of a key wins
	}
	assigned := make([][]bool, len(txs))
	written := make([]int, len(txs))
	for rows.Next() {
		var (
			key                      string
			txID, entryID, accountID int64
			amount                   string
		)
		if err := rows.Scan(&key, &txID, &entryID, &accountID, &amount); err != nil {
			return nil, fmt.Errorf("ledger: scanning entry id: %w", err)
		}
		i := byKey[key]
		t := &txs[i]
		if assigned[i] == nil {
			assigned[i] = make([]bool, len(t.Entries))
		}
		j := matchLeg(t.Entries, assigned[i], accounts, accountID, decimal.RequireFromString(amount))
		if j < 0 {
			panic(fmt.Sprintf("ledger: transaction %s wrote an entry (account %d, %s) that is none of its legs", key, accountID, amount))
		}
		assigned[i][j], t.ID = true, txID
		t.Entries[j].ID, t.Entries[j].TransactionID = entryID, txID
		written[i]++
	}
	if err := rows.Err(); err != nil {
		return nil, insertBatchError(txs, err)
	}
	fresh := make([]bool, len(txs))
	for i := range txs {
		if n := written[i]; n != 0 && n != len(txs[i].Entries) {
			panic(fmt.Sprintf("ledger: wrote %d of %d entries of %s", n, len(txs[i].Entries), txs[i].Key))
		}
		fresh[i] = written[i] > 0 && byKey[txs[i].Key] == i
	}
	return fresh, nil
}

// insertBatchError is insertError for a batch: a reversal of a reversed
// transaction names the first posting that reverses one.
func insertBatchError(txs []Transaction, err error) error {
	for i := range txs {
		if txs[i].ReversesID != 0 && isUniqueViolation(err, "transactions_reverses") {
			return insertError(&txs[i], err)
		}
	}
	return fmt.Errorf("ledger: inserting transactions: %w", err)
}

// unknownAccount is the fault of leg i naming an account that does not exist.
func unknownAccount(i int, code string) error {
	return fault.InvalidArgument(fmt.Sprintf("entries[%d].account", i), "unknown account %q", code)
}
