package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SealBlockMax bounds how many rows of each kind (transactions, accounts,
// statements) one seal covers.
const SealBlockMax = 10000

// SealLag keeps sealing behind in-flight transactions: identity ids commit
// out of order, so only rows recorded (created_at, Posting.Recorded) at
// least this long before the sealer's now are sealed. It is safe while
// every writing transaction commits within SealLag of the time it
// recorded, less the skew between the writer's clock and the sealer's
// (docs/decisions.md: a transaction under 30 s, clocks within 10 s).
const SealLag = time.Minute

// Sealed counts what one Seal call covered.
type Sealed struct {
	Transactions, Accounts, Statements int
	// Head is the new signed head; zero when nothing was sealed.
	Head Head
}

// Full reports whether a kind filled its block, so more may be waiting.
func (s Sealed) Full() bool {
	return max(s.Transactions, s.Accounts, s.Statements) >= SealBlockMax
}

// sealItem is one sealed row: its id and content hash.
type sealItem struct {
	id   int64
	hash []byte
}

// sealRange is the part of one kind of rows a seal covers.
type sealRange struct {
	upto  int64 // the last id covered, or the previous seal's when none
	items []sealItem
}

// lastSeal is what a new seal continues from.
type lastSeal struct {
	seq                           int64
	txUpto, accountUpto, stmtUpto int64
	txTotal                       int64
	hash                          []byte
}

// Seal chains the content hashes of the program's transactions, accounts
// and statements recorded before now less SealLag and not sealed yet into
// one new seal block, signs its head (sealed at now) with key and returns
// what it covered. now is the caller's clock, the one the rows were
// recorded by, read inside the attempt of tx. The block hash is SHA-256
// over the previous seal's hash and, in id order, every new transaction,
// account and statement (kind tag, id, hash). Two
// sealers racing is harmless: the loser's block conflicts and is dropped,
// and the loser returns a zero Sealed (its head is in no journal).
func Seal(ctx context.Context, tx pgx.Tx, program string, now time.Time, key ed25519.PrivateKey) (Sealed, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Sealed{}, errors.New("ledger: sealing needs an Ed25519 signing key")
	}
	cutoff := now.Add(-SealLag)
	journal, err := LoadProgram(ctx, tx, program)
	if err != nil {
		return Sealed{}, err
	}
	last, err := readLastSeal(ctx, tx, program)
	if err != nil {
		return Sealed{}, err
	}
	txs, err := unsealedTransactions(ctx, tx, program, last.txUpto, cutoff)
	if err != nil {
		return Sealed{}, err
	}
	accounts, err := unsealedAccounts(ctx, tx, program, last.accountUpto, cutoff)
	if err != nil {
		return Sealed{}, err
	}
	stmts, err := unsealedStatements(ctx, tx, journal, last.stmtUpto, cutoff)
	if err != nil {
		return Sealed{}, err
	}
	if len(txs.items)+len(accounts.items)+len(stmts.items) == 0 {
		return Sealed{}, nil
	}
	head := Head{
		Program: program, Seq: last.seq + 1, Hash: blockHash(last.hash, txs.items, accounts.items, stmts.items),
		LastTransactionID: txs.upto, Transactions: last.txTotal + int64(len(txs.items)), SealedAt: now.UTC().Truncate(time.Microsecond),
	}
	head.sign(key)
	fromID := txs.upto + 1
	if len(txs.items) > 0 {
		fromID = txs.items[0].id
	}
	tag, err := tx.Exec(ctx, `INSERT INTO seals (program_id, seq, from_id, upto_id, tx_count, prev_hash, hash, sealed_at,
			account_upto, account_count, statement_upto, statement_count, tx_total, public_key, signature)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`,
		program, head.Seq, fromID, txs.upto, len(txs.items), last.hash, head.Hash, head.SealedAt,
		accounts.upto, len(accounts.items), stmts.upto, len(stmts.items), head.Transactions, []byte(head.PublicKey), head.Signature)
	if err != nil {
		return Sealed{}, fmt.Errorf("ledger: writing seal: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Sealed{}, nil // another sealer wrote this seq first: this call sealed nothing
	}
	return Sealed{Transactions: len(txs.items), Accounts: len(accounts.items), Statements: len(stmts.items), Head: head}, nil
}

// ProgramsToSeal lists, in id order, up to limit ids after after of the
// programs that have a row for Seal at cutoff (now less SealLag): a
// transaction, account or statement after its last seal whose first such
// row was recorded before cutoff. One statement for any number of
// programs, an index probe of each kind a program: the scheduler seals
// only these instead of opening a transaction for every program.
func ProgramsToSeal(ctx context.Context, q Querier, cutoff time.Time, after string, limit int) ([]string, error) {
	rows, err := q.Query(ctx, programsToSealSQL, cutoff, after, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: listing programs to seal: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("ledger: listing programs to seal: %w", err)
	}
	return ids, nil
}

// programsToSealSQL probes, per program, the first row of each kind after
// the last seal, as Seal's reads do (collectOld stops at the first row
// recorded at or after the cutoff). Each probe is a row comparison on the
// kind's (program_id, id) index, which reads one index entry: the first
// after (program, last sealed id), NULL when it is another program's.
// Written as program_id = p.id AND id > …, the planner may walk the
// primary key from the last sealed id through every later program's rows
// (it cannot tell the program's share of them).
const programsToSealSQL = `SELECT p.id FROM programs p
	LEFT JOIN LATERAL (SELECT upto_id, account_upto, statement_upto FROM seals s
		WHERE s.program_id = p.id ORDER BY s.seq DESC LIMIT 1) l ON true
	WHERE p.id > $2 AND (
		(SELECT CASE WHEN t.program_id = p.id THEN t.created_at END FROM transactions t
			WHERE (t.program_id, t.id) > (p.id, COALESCE(l.upto_id, 0)) ORDER BY t.program_id, t.id LIMIT 1) < $1
		OR (SELECT CASE WHEN a.program_id = p.id THEN a.created_at END FROM accounts a
			WHERE (a.program_id, a.id) > (p.id, COALESCE(l.account_upto, 0)) ORDER BY a.program_id, a.id LIMIT 1) < $1
		OR (SELECT CASE WHEN st.program_id = p.id THEN st.created_at END FROM statements st
			WHERE (st.program_id, st.id) > (p.id, COALESCE(l.statement_upto, 0)) ORDER BY st.program_id, st.id LIMIT 1) < $1)
	ORDER BY p.id LIMIT $3`

func readLastSeal(ctx context.Context, q Querier, program string) (lastSeal, error) {
	last := lastSeal{hash: make([]byte, sha256.Size)}
	err := q.QueryRow(ctx, `SELECT seq, upto_id, account_upto, statement_upto, tx_total, hash FROM seals
		WHERE program_id = $1 ORDER BY seq DESC LIMIT 1`, program).
		Scan(&last.seq, &last.txUpto, &last.accountUpto, &last.stmtUpto, &last.txTotal, &last.hash)
	if err != nil && !isNoRows(err) {
		return lastSeal{}, fmt.Errorf("ledger: reading last seal: %w", err)
	}
	return last, nil
}

// collectOld reads rows in id order and keeps them up to the first one
// recorded at or after cutoff: one with a lower id may still be in flight.
func collectOld(rows pgx.Rows, after int64, scan func(pgx.Rows) (sealItem, bool, error)) (sealRange, error) {
	defer rows.Close()
	r := sealRange{upto: after}
	for rows.Next() {
		item, old, err := scan(rows)
		if err != nil {
			return sealRange{}, err
		}
		if !old {
			break
		}
		r.items, r.upto = append(r.items, item), item.id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sealRange{}, fmt.Errorf("ledger: reading unsealed rows: %w", err)
	}
	return r, nil
}

// unsealedTransactionsSQL reads a program's transactions after an id, in id
// order, by the index on (program_id, id).
const unsealedTransactionsSQL = `SELECT id, hash, created_at < $3 FROM transactions WHERE program_id = $1 AND id > $2
	ORDER BY id LIMIT $4`

func unsealedTransactions(ctx context.Context, tx pgx.Tx, program string, after int64, cutoff time.Time) (sealRange, error) {
	rows, err := tx.Query(ctx, unsealedTransactionsSQL, program, after, cutoff, SealBlockMax)
	if err != nil {
		return sealRange{}, fmt.Errorf("ledger: reading unsealed transactions: %w", err)
	}
	return collectOld(rows, after, func(rows pgx.Rows) (sealItem, bool, error) {
		var (
			it  sealItem
			old bool
		)
		err := rows.Scan(&it.id, &it.hash, &old)
		return it, old, err
	})
}

func unsealedAccounts(ctx context.Context, tx pgx.Tx, program string, after int64, cutoff time.Time) (sealRange, error) {
	rows, err := tx.Query(ctx, `SELECT `+accountColumns+`, created_at < $3 FROM accounts WHERE program_id = $1 AND id > $2
		ORDER BY id LIMIT $4`, program, after, cutoff, SealBlockMax)
	if err != nil {
		return sealRange{}, fmt.Errorf("ledger: reading unsealed accounts: %w", err)
	}
	return collectOld(rows, after, func(rows pgx.Rows) (sealItem, bool, error) {
		var old bool
		a, err := scanAccount(rows, program, &old)
		return sealItem{a.ID, accountHash(a)}, old, err
	})
}

func unsealedStatements(ctx context.Context, tx pgx.Tx, journal *Program, after int64, cutoff time.Time) (sealRange, error) {
	rows, err := tx.Query(ctx, `SELECT `+statementColumns+`, created_at < $3 FROM statements WHERE program_id = $1 AND id > $2
		ORDER BY id LIMIT $4`, journal.ID, after, cutoff, SealBlockMax)
	if err != nil {
		return sealRange{}, fmt.Errorf("ledger: reading unsealed statements: %w", err)
	}
	return collectOld(rows, after, func(rows pgx.Rows) (sealItem, bool, error) {
		var old bool
		st, err := scanStatement(rows, journal.ID, &old)
		if err != nil {
			return sealItem{}, false, err
		}
		h, err := statementHash(st)
		return sealItem{st.id, h}, old, err
	})
}

// Tags separate the kinds of rows in a block, so a row of one kind cannot
// stand in for another.
const (
	tagTransaction = 't'
	tagAccount     = 'a'
	tagStatement   = 's'
)

func blockHash(prev []byte, txs, accounts, stmts []sealItem) []byte {
	h := sha256.New()
	h.Write([]byte("accrue seal v2"))
	h.Write(prev)
	var buf [9]byte
	for _, part := range []struct {
		tag   byte
		items []sealItem
	}{{tagTransaction, txs}, {tagAccount, accounts}, {tagStatement, stmts}} {
		for _, it := range part.items {
			buf[0] = part.tag
			binary.BigEndian.PutUint64(buf[1:], uint64(it.id))
			h.Write(buf[:])
			h.Write(it.hash)
		}
	}
	return h.Sum(nil)
}
