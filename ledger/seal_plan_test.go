package ledger_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// insertTransactions writes n bare transactions of program recorded at
// recorded, as a fixture (the plan tests need volume, not content).
func insertTransactions(t *testing.T, db *txn.DB, program, prefix string, n int, recorded time.Time) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO transactions
		(program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, hash, created_at)
		SELECT $1, 'fixture', $2 || g, '\x00', $3, '2026-03', '{}', '{}', '\x00', $3
		FROM generate_series(1, $4::int) g`, program, prefix, recorded, n); err != nil {
		t.Fatal(err)
	}
}

// sealProgram seals program's rows recorded before now less SealLag, as
// many blocks as they fill.
func sealProgram(t *testing.T, db *txn.DB, program string, now time.Time) {
	t.Helper()
	for full := true; full; {
		if err := db.Run(context.Background(), func(tx pgx.Tx) error {
			sealed, err := ledger.Seal(context.Background(), tx, program, now, testKey)
			full = sealed.Full()
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func programsToSeal(t *testing.T, db *txn.DB, cutoff time.Time) []string {
	t.Helper()
	ids, err := ledger.ProgramsToSeal(context.Background(), db.Pool, cutoff, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The scheduler seals only the programs with rows to seal, and finding
// them and their rows probes each program's first rows after its last
// seal: no index served a program's transactions in id order, so each
// minute's seal of an idle program read every transaction it ever had
// (the period index) or every later one of the other programs (by id).
func TestSealProbesOnlyRowsAfterTheLastSeal(t *testing.T) {
	ctx := context.Background()
	db, ownerURL := openDB(t)
	if err := db.Run(ctx, func(tx pgx.Tx) error {
		for _, p := range []string{"busy", "idle", "quiet"} {
			if _, err := ledger.CreateProgram(ctx, tx, p, "USD", "UTC", t0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	insertTransactions(t, db, "idle", "old-", 2000, t0)
	insertTransactions(t, db, "quiet", "old-", 10, t0)
	sealProgram(t, db, "idle", now)
	sealProgram(t, db, "quiet", now)
	insertTransactions(t, db, "busy", "", 20000, t0)
	insertTransactions(t, db, "idle", "new-", 3, t0)
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `ANALYZE transactions, accounts, statements, seals, programs`); err != nil {
		t.Fatal(err)
	}
	var upto int64
	if err := db.Pool.QueryRow(ctx, `SELECT upto_id FROM seals WHERE program_id = 'idle'`).Scan(&upto); err != nil {
		t.Fatal(err)
	}
	plan := pgtest.ExplainAnalyze(t, db.Pool, ledger.UnsealedTransactionsSQL, "idle", upto, now, ledger.SealBlockMax)
	if plan.Removed() != 0 || plan.SeqScan() {
		t.Errorf("the seal of 3 new rows read %d it did not seal (sequential scan: %v)", plan.Removed(), plan.SeqScan())
	}
	cutoff := now.Add(-ledger.SealLag)
	plan = pgtest.ExplainAnalyze(t, db.Pool, ledger.ProgramsToSealSQL, cutoff, "", 100)
	if n := plan.RemovedIn("transactions"); n != 0 {
		t.Errorf("finding the programs to seal read %d transactions it dropped, want none", n)
	}
	if got := programsToSeal(t, db, cutoff); !slices.Equal(got, []string{"busy", "idle"}) {
		t.Errorf("programs to seal = %v, want busy and idle", got)
	}
	sealProgram(t, db, "busy", now)
	sealProgram(t, db, "idle", now)
	if got := programsToSeal(t, db, cutoff); len(got) != 0 {
		t.Errorf("programs to seal after sealing = %v, want none", got)
	}
	// A row recorded within SealLag of now waits for a later run.
	insertTransactions(t, db, "quiet", "late-", 1, now)
	if got := programsToSeal(t, db, cutoff); len(got) != 0 {
		t.Errorf("programs to seal with a row recorded after the cutoff = %v, want none", got)
	}
	if got := programsToSeal(t, db, now.Add(time.Second)); !slices.Equal(got, []string{"quiet"}) {
		t.Errorf("programs to seal a minute later = %v, want quiet", got)
	}
}
