package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) *txn.DB {
	t.Helper()
	db, _ := openOwned(t)
	return db
}

// openOwned is open, with the owner's URL of the test's database.
func openOwned(t *testing.T) (*txn.DB, string) {
	t.Helper()
	ownerURL := pgtest.DatabaseURL(t)
	db, err := database.Open(context.Background(), ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	return db, ownerURL
}

// A claim is recorded once, running until finished; a finished command
// cannot be finished again.
func TestCommandClaimAndFinish(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	c := store.Command{Program: "p", Key: "k", Method: "accrue.v1.X", Hash: []byte{1, 2}}
	for i, want := range []bool{true, false} {
		claimed, err := store.RecordCommand(ctx, db.Pool, c, nil)
		if err != nil || claimed != want {
			t.Fatalf("claim %d = %v, %v; want %v", i, claimed, err, want)
		}
	}
	got, found, err := store.LoadCommand(ctx, db.Pool, "p", "k")
	if err != nil || !found || !got.Running || !bytes.Equal(got.Hash, c.Hash) {
		t.Fatalf("LoadCommand = %+v, %v, %v; want running with the hash", got, found, err)
	}
	for i, want := range []bool{true, false} {
		done, err := store.FinishCommand(ctx, db.Pool, "p", "k", []byte("body"))
		if err != nil || done != want {
			t.Fatalf("finish %d = %v, %v; want %v", i, done, err, want)
		}
	}
	got, _, _ = store.LoadCommand(ctx, db.Pool, "p", "k")
	if got.Running || string(got.Response) != "body" {
		t.Fatalf("after finish: %+v", got)
	}
	if _, found, err := store.LoadCommand(ctx, db.Pool, "p", "other"); found || err != nil {
		t.Fatalf("LoadCommand of an unknown key = %v, %v", found, err)
	}
}

// Expiry reads only the records left to expire, however many expired
// before: the index on created_at alone held every expired record, and
// each run walked them all (a filter over each one's row) before it
// reached one to expire.
func TestExpiryReadsOnlyRecordsLeftToExpire(t *testing.T) {
	ctx := context.Background()
	db, ownerURL := openOwned(t)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		prefix  string
		n       int
		at      time.Time
		expired bool
	}{{"done-", 20000, old, true}, {"due-", 5, old, false}, {"new-", 5, old.AddDate(1, 0, 0), false}} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at, expired)
			SELECT 'shop', $1 || g, 'accrue.v1.X', '\x00', '\x01', false, $2, $3 FROM generate_series(1, $4::int) g`,
			q.prefix, q.at, q.expired, q.n); err != nil {
			t.Fatal(err)
		}
	}
	// Statistics as autovacuum would gather them (the owner's ANALYZE;
	// the application role's is skipped).
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `ANALYZE commands`); err != nil {
		t.Fatal(err)
	}
	cutoff := old.Add(time.Hour)
	plan := pgtest.ExplainAnalyze(t, db.Pool, store.ExpireCommandsSQL, cutoff, 100)
	if removed := plan.Removed(); removed != 0 || plan.SeqScan() {
		t.Errorf("the expiry read %d rows it did not expire (sequential scan: %v)", removed, plan.SeqScan())
	}
	for i, want := range []int{5, 0} {
		if n, err := store.ExpireCommands(ctx, db.Pool, cutoff, 100); err != nil || n != want {
			t.Fatalf("run %d expired %d (%v), want %d", i, n, err, want)
		}
	}
	var left int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM commands WHERE NOT expired`).Scan(&left); err != nil || left != 5 {
		t.Fatalf("%d records not expired (%v), want the 5 new ones", left, err)
	}
}
