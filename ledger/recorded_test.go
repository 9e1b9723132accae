package ledger_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// sealAt seals testProgram at now (the caller's clock) and returns how many
// transactions it covered.
func sealAt(t *testing.T, db *txn.DB, now time.Time) int {
	t.Helper()
	var n int
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		s, err := ledger.Seal(context.Background(), tx, testProgram, now, testKey)
		n = s.Transactions
		return err
	})
	if err != nil {
		t.Fatalf("Seal at %v: %v", now, err)
	}
	return n
}

// TestSealCutoffIsTheRecordedClock records rows at two simulated times an
// hour apart, years away from the database's clock, and seals at simulated
// times: the rows are recorded as given (created_at), a seal at the first
// time plus SealLag covers none (its cutoff is not after them), a second
// later it covers the first time's rows and leaves the later one unsealed
// (in the future of its cutoff), and verify's missing-seal check follows
// the same clock.
func TestSealCutoffIsTheRecordedClock(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	early := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	late := early.Add(time.Hour)
	for _, row := range []struct {
		key string
		rec time.Time
	}{{"e1", early}, {"e2", early}, {"l1", late}} {
		key, rec := row.key, row.rec
		p := transfer(key, "platform:commission_expense", "partner:bob:accrued", "1.00", t0)
		p.Recorded = rec
		mustPost(t, db, p)
		var stored time.Time
		if err := db.Pool.QueryRow(ctx, `SELECT created_at FROM transactions WHERE idempotency_key = $1`, key).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !stored.Equal(rec) {
			t.Fatalf("%s recorded at %v, want %v", key, stored, rec)
		}
	}
	if n := sealAt(t, db, early.Add(ledger.SealLag)); n != 0 {
		t.Fatalf("a seal at the rows' time plus SealLag covered %d transactions, want 0", n)
	}
	if n := sealAt(t, db, early.Add(ledger.SealLag+time.Second)); n != 2 {
		t.Fatalf("a seal past the early rows covered %d transactions, want the 2 recorded then", n)
	}
	missing := func(cutoff time.Time) []string {
		t.Helper()
		r, err := ledger.VerifyWith(ctx, db.Pool, testProgram, ledger.VerifyOptions{PublicKey: testKey.Public().(ed25519.PublicKey), Cutoff: cutoff})
		if err != nil {
			t.Fatal(err)
		}
		return r.Problems
	}
	if p := missing(late); len(p) != 0 {
		t.Fatalf("verify with a cutoff at the late row: %v, want nothing missing", p)
	}
	if p := missing(late.Add(time.Second)); len(p) != 1 || !strings.Contains(p[0], "1 transactions") {
		t.Fatalf("verify with a cutoff past the unsealed late row: %v, want it missing", p)
	}
	if n := sealAt(t, db, late.Add(ledger.SealLag+time.Second)); n != 1 {
		t.Fatalf("a seal past the late row covered %d transactions, want 1", n)
	}
	if p := missing(late.Add(time.Hour)); len(p) != 0 {
		t.Fatalf("verify after sealing everything: %v", p)
	}
}

// TestJournalWritesNeedARecordedTime: a posting or an account without its
// recorded time is refused and writes nothing (a row recorded by another
// clock would be sealed too early or too late).
func TestJournalWritesNeedARecordedTime(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	p := transfer("unrecorded", "platform:commission_expense", "partner:bob:accrued", "1.00", t0)
	p.Recorded = time.Time{}
	if _, _, err := post(ctx, db, p); err == nil || !strings.Contains(err.Error(), "recorded") {
		t.Fatalf("posting without a recorded time: %v, want refused", err)
	}
	err := db.Run(ctx, func(tx pgx.Tx) error {
		_, err := ledger.OpenAccount(ctx, tx, testProgram, "partner:eve:accrued", ledger.Credit, 1, time.Time{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "recorded") {
		t.Fatalf("opening an account without a recorded time: %v, want refused", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transactions) + (SELECT count(*) FROM accounts WHERE code = 'partner:eve:accrued')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows written by refused writes", n)
	}
}
