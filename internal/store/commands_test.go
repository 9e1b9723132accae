package store_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	plan := explainAnalyze(t, db, store.ExpireCommandsSQL, cutoff, 100)
	if removed := plan.removed(); removed != 0 || plan.seqScan() {
		t.Errorf("the expiry read %d rows it did not expire (sequential scan: %v)", removed, plan.seqScan())
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

// planNode is a node of EXPLAIN (FORMAT JSON), with what the tests read.
type planNode struct {
	NodeType       string     `json:"Node Type"`
	RemovedFilter  int        `json:"Rows Removed by Filter"`
	RemovedRecheck int        `json:"Rows Removed by Index Recheck"`
	Plans          []planNode `json:"Plans"`
}

// removed is how many rows the node and those under it read and dropped.
func (n planNode) removed() int {
	total := n.RemovedFilter + n.RemovedRecheck
	for _, c := range n.Plans {
		total += c.removed()
	}
	return total
}

// seqScan is whether the node or one under it scans a table whole.
func (n planNode) seqScan() bool {
	if n.NodeType == "Seq Scan" {
		return true
	}
	for _, c := range n.Plans {
		if c.seqScan() {
			return true
		}
	}
	return false
}

// explainAnalyze runs sql with args under EXPLAIN ANALYZE in a
// transaction it rolls back, and returns the plan's root.
func explainAnalyze(t *testing.T, db *txn.DB, sql string, args ...any) planNode {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var out []byte
	if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+sql, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("reading the plan %s: %v", out, err)
	}
	return plans[0].Plan
}
