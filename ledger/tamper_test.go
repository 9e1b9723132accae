package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// farFuture is a time to seal at (Seal's now) more than ledger.SealLag
// after every row the tests write.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// testKey signs the tests' seals; forgerKey is a key an attacker made.
var (
	testKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	forgerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
)

// ownerPool connects to url as its own user, the schema owner (a
// superuser on the test server), without SET ROLE: what an attacker with
// the database's keys would use.
func ownerPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// seal seals testProgram's transactions up to farFuture and returns how
// many it sealed.
func seal(t *testing.T, db *txn.DB) int {
	t.Helper()
	var n int
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		s, err := ledger.Seal(context.Background(), tx, testProgram, farFuture, testKey)
		n = s.Transactions
		return err
	})
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return n
}

// sealedJournal posts n transfers in two sealed blocks (so the seals form
// a chain) and returns the transactions.
func sealedJournal(t *testing.T, db *txn.DB, n int) []ledger.Transaction {
	t.Helper()
	var txs []ledger.Transaction
	for i := range n {
		txs = append(txs, mustPost(t, db, transfer(fmt.Sprintf("k%d", i), "platform:commission_expense", "partner:bob:accrued",
			fmt.Sprintf("%d.%02d", 10+i, i), t0.Add(time.Duration(i)*time.Hour))))
		if i == n/2 {
			if got := seal(t, db); got != i+1 {
				t.Fatalf("first seal covered %d transactions, want %d", got, i+1)
			}
		}
	}
	if got := seal(t, db); got != n-n/2-1 {
		t.Fatalf("second seal covered %d transactions, want %d", got, n-n/2-1)
	}
	if got := seal(t, db); got != 0 {
		t.Fatalf("sealing again sealed %d transactions, want 0", got)
	}
	var seals int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM seals WHERE program_id = $1`, testProgram).Scan(&seals); err != nil || seals != 2 {
		t.Fatalf("%d seals (%v), want 2", seals, err)
	}
	requireVerified(t, db.Pool)
	return txs
}

// problems runs Verify and returns its findings, one per line.
func problems(t *testing.T, q ledger.Querier) string {
	t.Helper()
	r, err := ledger.Verify(context.Background(), q, testProgram)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if r.OK() {
		t.Fatal("Verify found nothing wrong with a tampered journal")
	}
	return strings.Join(r.Problems, "\n")
}

// TestVerifyDetectsAlteredEntry alters one sealed entry's amount as the
// owner, behind the application's back: Verify names the transaction.
func TestVerifyDetectsAlteredEntry(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t)
	setupProgram(t, db, chart...)
	txs := sealedJournal(t, db, 6)
	victim := txs[2]

	owner := ownerPool(t, url)
	tag, err := owner.Exec(ctx, `UPDATE entries SET amount = amount + 1 WHERE id = $1`, victim.Entries[0].ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("tampering as the owner: %v (%d rows)", err, tag.RowsAffected())
	}
	got := problems(t, db.Pool)
	if want := fmt.Sprintf("transaction %d: content does not match its hash", victim.ID); !strings.Contains(got, want) {
		t.Fatalf("Verify reported:\n%s\nwant a line %q", got, want)
	}
	if want := fmt.Sprintf("transaction %d: 2 entries summing to 1", victim.ID); !strings.Contains(got, want) {
		t.Fatalf("Verify reported:\n%s\nwant a line %q", got, want)
	}
	if !strings.Contains(got, "account platform:commission_expense: stored balance") {
		t.Fatalf("Verify reported:\n%s\nwant the balance of platform:commission_expense", got)
	}
	for _, tr := range txs {
		if tr.ID != victim.ID && strings.Contains(got, fmt.Sprintf("transaction %d:", tr.ID)) {
			t.Fatalf("Verify blamed untouched transaction %d:\n%s", tr.ID, got)
		}
	}
}

// TestVerifyDetectsRemovedTransaction deletes a sealed transaction (its
// entries first) as the owner: the seal covering it no longer matches.
func TestVerifyDetectsRemovedTransaction(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t)
	setupProgram(t, db, chart...)
	txs := sealedJournal(t, db, 6)
	victim := txs[1] // In the first seal.

	owner := ownerPool(t, url)
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM entries WHERE transaction_id = $1`, victim.ID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM transactions WHERE id = $1`, victim.ID)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("deleted %d transactions", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		t.Fatalf("deleting as the owner: %v", err)
	}
	got := problems(t, db.Pool)
	if !strings.Contains(got, "seal 1: covers 4 transactions, 3 found") {
		t.Fatalf("Verify reported:\n%s\nwant seal 1 to miss a transaction", got)
	}
	if strings.Contains(got, "seal 2:") {
		t.Fatalf("Verify blamed the untouched seal 2:\n%s", got)
	}
}

// TestVerifyDetectsInsertedTransaction inserts, as the owner, a
// well-formed transaction with an id inside a sealed block (a backdated
// forgery): the seal no longer matches though every row is consistent.
func TestVerifyDetectsInsertedTransaction(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t)
	setupProgram(t, db, chart...)
	txs := sealedJournal(t, db, 6)

	owner := ownerPool(t, url)
	// Sealed ids are consecutive, so the forgery takes id 0, below every
	// sealed id: a copy of the first transaction's row under a new key.
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO transactions (id, program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, reverses_id, hash, created_at)
			SELECT 0, program_id, kind, 'forged', request_hash, at, period, refs, metadata, reverses_id, hash, created_at
			FROM transactions WHERE id = $1`, txs[0].ID)
		return err
	})
	if err != nil {
		t.Fatalf("inserting as the owner: %v", err)
	}
	got := problems(t, db.Pool)
	if !strings.Contains(got, "seal 1: covers 4 transactions, 5 found") {
		t.Fatalf("Verify reported:\n%s\nwant seal 1 to count an extra transaction", got)
	}
}

// TestVerifyDetectsMovedEntry moves one entry to another period and
// another instant as the owner (what would shift money between statements
// and as-of balances without changing any amount): Verify names it.
func TestVerifyDetectsMovedEntry(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t)
	setupProgram(t, db, chart...)
	txs := sealedJournal(t, db, 4)
	victim := txs[1]

	owner := ownerPool(t, url)
	for _, sql := range []string{
		`UPDATE entries SET period = '2030-01' WHERE id = $1`,
		`UPDATE entries SET at = at + interval '40 days' WHERE id = $1`,
	} {
		if tag, err := owner.Exec(ctx, sql, victim.Entries[1].ID); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("tampering as the owner: %v", err)
		}
	}
	got := problems(t, db.Pool)
	if want := fmt.Sprintf("transaction %d: entry %d says", victim.ID, victim.Entries[1].ID); !strings.Contains(got, want) {
		t.Fatalf("Verify reported:\n%s\nwant a line starting %q", got, want)
	}
}
