package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// MaxSealBlock bounds how many transactions one seal covers.
const MaxSealBlock = 10000

// SealLag keeps sealing behind in-flight transactions: identity ids commit
// out of order, so only transactions begun at least this long ago are sealed.
const SealLag = time.Minute

// Seal chains the hashes of the program's unsealed transactions created
// before cutoff into new seal blocks, and returns how many it sealed. Two
// sealers racing is harmless: the loser's block conflicts and is dropped.
func Seal(ctx context.Context, tx pgx.Tx, program string, cutoff time.Time) (int, error) {
	var (
		seq    int64
		uptoID int64
		prev   = make([]byte, sha256.Size)
	)
	err := tx.QueryRow(ctx, `SELECT seq, upto_id, hash FROM seals WHERE program_id = $1 ORDER BY seq DESC LIMIT 1`, program).
		Scan(&seq, &uptoID, &prev)
	if err != nil && !isNoRows(err) {
		return 0, fmt.Errorf("ledger: reading last seal: %w", err)
	}
	// Stop at the first transaction begun after cutoff: one with a lower id
	// may still be in flight.
	rows, err := tx.Query(ctx, `SELECT id, hash, created_at < $3 FROM transactions WHERE program_id = $1 AND id > $2
		ORDER BY id LIMIT $4`, program, uptoID, cutoff, MaxSealBlock)
	if err != nil {
		return 0, fmt.Errorf("ledger: reading unsealed transactions: %w", err)
	}
	var (
		ids    []int64
		hashes [][]byte
	)
	for rows.Next() {
		var (
			id  int64
			h   []byte
			old bool
		)
		if err := rows.Scan(&id, &h, &old); err != nil {
			rows.Close()
			return 0, fmt.Errorf("ledger: scanning transaction hash: %w", err)
		}
		if !old {
			break
		}
		ids, hashes = append(ids, id), append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("ledger: reading unsealed transactions: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	block := blockHash(prev, ids, hashes)
	_, err = tx.Exec(ctx, `INSERT INTO seals (program_id, seq, from_id, upto_id, tx_count, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		program, seq+1, ids[0], ids[len(ids)-1], len(ids), prev, block)
	if err != nil {
		return 0, fmt.Errorf("ledger: writing seal: %w", err)
	}
	return len(ids), nil
}

func blockHash(prev []byte, ids []int64, hashes [][]byte) []byte {
	h := sha256.New()
	h.Write(prev)
	var buf [8]byte
	for i, id := range ids {
		binary.BigEndian.PutUint64(buf[:], uint64(id))
		h.Write(buf[:])
		h.Write(hashes[i])
	}
	return h.Sum(nil)
}

// Report is what Verify found.
type Report struct {
	Transactions int64
	Accounts     int64
	Problems     []string
}

// OK reports whether the journal passed every check.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < 100 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Verify checks, from the database alone, that every transaction's hash
// matches its content and entries, that its entries sum to zero, that the
// seals chain every sealed transaction in id order with none missing or
// added, and that every stored balance equals the sum of its entries.
func Verify(ctx context.Context, q Querier, program string) (Report, error) {
	prog, err := LoadProgram(ctx, q, program)
	if err != nil {
		return Report{}, err
	}
	var r Report
	hashes, err := verifyTransactions(ctx, q, prog, &r)
	if err != nil {
		return r, err
	}
	if err := verifySeals(ctx, q, program, hashes, &r); err != nil {
		return r, err
	}
	return r, verifyBalances(ctx, q, program, &r)
}

type idHash struct {
	id   int64
	hash []byte
}

func verifyTransactions(ctx context.Context, q Querier, prog *Program, r *Report) ([]idHash, error) {
	var out []idHash
	// Start below every id, not at 0: a row forged with an id <= 0 (the
	// identity column accepts explicit ids) must be seen too.
	for after := int64(math.MinInt64); ; {
		ts, err := ListTransactions(ctx, q, prog.ID, TransactionFilter{AfterID: after, Limit: MaxPageSize})
		if err != nil {
			return nil, err
		}
		if len(ts) == 0 {
			return out, nil
		}
		for _, t := range ts {
			r.Transactions++
			sum := decimal.Zero
			for _, e := range t.Entries {
				sum = sum.Add(e.Amount)
				// Entries copy their transaction's time and period (for the
				// indexes); a copy that differs was altered.
				if !e.At.Equal(t.At) || e.Period != t.Period {
					r.problem("transaction %d: entry %d says %s in %s, the transaction %s in %s", t.ID, e.ID,
						e.At.Format(time.RFC3339Nano), e.Period, t.At.Format(time.RFC3339Nano), t.Period)
				}
			}
			if len(t.Entries) < 2 || !sum.IsZero() {
				r.problem("transaction %d: %d entries summing to %s", t.ID, len(t.Entries), sum)
			}
			stored := t.Hash
			if !bytes.Equal(contentHash(t, prog.Scale), stored) {
				r.problem("transaction %d: content does not match its hash", t.ID)
			}
			out = append(out, idHash{t.ID, stored})
		}
		after = ts[len(ts)-1].ID
	}
}

func verifySeals(ctx context.Context, q Querier, program string, txs []idHash, r *Report) error {
	rows, err := q.Query(ctx, `SELECT seq, from_id, upto_id, tx_count, prev_hash, hash FROM seals WHERE program_id = $1 ORDER BY seq`, program)
	if err != nil {
		return fmt.Errorf("ledger: reading seals: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	i := 0
	for rows.Next() {
		var (
			seq, from, upto, count int64
			prevHash, hash         []byte
		)
		if err := rows.Scan(&seq, &from, &upto, &count, &prevHash, &hash); err != nil {
			return fmt.Errorf("ledger: scanning seal: %w", err)
		}
		if !bytes.Equal(prevHash, prev) {
			r.problem("seal %d: does not chain to seal %d", seq, seq-1)
		}
		var ids []int64
		var hs [][]byte
		for ; i < len(txs) && txs[i].id <= upto; i++ {
			ids, hs = append(ids, txs[i].id), append(hs, txs[i].hash)
		}
		if int64(len(ids)) != count {
			r.problem("seal %d: covers %d transactions, %d found in ids %d..%d (removed or inserted out of order)", seq, count, len(ids), from, upto)
		} else if !bytes.Equal(blockHash(prev, ids, hs), hash) {
			r.problem("seal %d: transactions %d..%d do not match the sealed hash", seq, from, upto)
		}
		prev = hash
	}
	return rows.Err()
}

func verifyBalances(ctx context.Context, q Querier, program string, r *Report) error {
	rows, err := q.Query(ctx, `
		SELECT a.code,
			COALESCE((SELECT SUM(b.balance) FROM balances b WHERE b.account_id = a.id), 0)::text,
			COALESCE((SELECT SUM(b.entries) FROM balances b WHERE b.account_id = a.id), 0),
			COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id), 0)::text,
			(SELECT count(*) FROM entries e WHERE e.account_id = a.id)
		FROM accounts a WHERE a.program_id = $1 ORDER BY a.code`, program)
	if err != nil {
		return fmt.Errorf("ledger: reading balances to verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			code, stored, summed string
			storedN, summedN     int64
		)
		if err := rows.Scan(&code, &stored, &storedN, &summed, &summedN); err != nil {
			return fmt.Errorf("ledger: scanning balance: %w", err)
		}
		r.Accounts++
		if !decimal.RequireFromString(stored).Equal(decimal.RequireFromString(summed)) || storedN != summedN {
			r.problem("account %s: stored balance %s over %d entries, entries sum to %s over %d", code, stored, storedN, summed, summedN)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: reading balances to verify: %w", err)
	}
	var orphans int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM entries e JOIN transactions t ON t.id = e.transaction_id
		WHERE t.program_id = $1 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.program_id = $1)`,
		program).Scan(&orphans); err != nil {
		return fmt.Errorf("ledger: checking entry accounts: %w", err)
	}
	if orphans > 0 {
		r.problem("%d entries name an account outside the program", orphans)
	}
	var total string
	if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(e.amount), 0)::text FROM entries e JOIN transactions t ON t.id = e.transaction_id
		WHERE t.program_id = $1`, program).Scan(&total); err != nil {
		return fmt.Errorf("ledger: summing the journal: %w", err)
	}
	if !decimal.RequireFromString(total).IsZero() {
		r.problem("the journal's entries sum to %s, not zero", total)
	}
	return nil
}
