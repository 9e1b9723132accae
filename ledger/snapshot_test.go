package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// snapshot runs ledger.Snapshot until its batch is not full and returns
// what the last call did.
func snapshot(tb testing.TB, db *txn.DB) ledger.Snapshotted {
	tb.Helper()
	ctx := context.Background()
	for {
		var s ledger.Snapshotted
		err := db.Run(ctx, func(tx pgx.Tx) error {
			var err error
			s, err = ledger.Snapshot(ctx, tx)
			return err
		})
		if err != nil {
			tb.Fatalf("Snapshot: %v", err)
		}
		if !s.Full() {
			return s
		}
	}
}

// checkAsOf compares the as-of balances of every account at each instant
// with the model's replay.
func checkAsOf(tb testing.TB, q ledger.Querier, m *model, instants []time.Time, when string) {
	tb.Helper()
	for _, asOf := range instants {
		got := balances(tb, q, asOf)
		for code := range m.normal {
			if want := m.balanceAsOf(code, asOf); !got[code].Equal(want) {
				tb.Fatalf("%s: %s as of %s = %s, replay %s", when, code, asOf.Format(time.RFC3339Nano), got[code], want)
			}
		}
	}
}

// instantsAround returns, for each time, itself, a microsecond before, and
// the start of its second, minute, hour and day with a microsecond before
// each: the edges of every bucket level.
func instantsAround(times ...time.Time) []time.Time {
	var out []time.Time
	for _, at := range times {
		out = append(out, at, at.Add(-time.Microsecond))
		for _, d := range []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour} {
			edge := at.Truncate(d)
			out = append(out, edge, edge.Add(-time.Microsecond))
		}
	}
	return out
}

// snapshotSetup opens a program with two pairs of accounts and a model of
// it, and lowers Snapshot's enrollment threshold to 3 entries.
func snapshotSetup(t *testing.T) (*txn.DB, string, *model) {
	t.Helper()
	t.Cleanup(ledger.SetSnapshotLimits(ledger.SnapshotBatchMax, 3))
	db, url := openDB(t)
	specs := []accountSpec{{"platform:expense", ledger.Debit, 4}, {"partner:bob:accrued", ledger.Credit, 1},
		{"platform:bonus", ledger.Debit, 1}, {"partner:eve:accrued", ledger.Credit, 1}}
	setupProgram(t, db, specs...)
	m := newModel()
	for _, s := range specs {
		m.normal[s.code] = s.normal
	}
	return db, url, m
}

func (m *model) post(tb testing.TB, db *txn.DB, p ledger.Posting) {
	tb.Helper()
	mustPost(tb, db, p)
	m.apply(p)
}

// TestSnapshotAsOfWithLateEvents enrolls accounts, posts a late event into
// a bucket already folded, and checks as-of balances at every bucket edge
// before and after the next Snapshot, and that Verify checks the buckets.
func TestSnapshotAsOfWithLateEvents(t *testing.T) {
	db, url, m := snapshotSetup(t)
	var times []time.Time
	for i := range 10 {
		at := t0.Add(time.Duration(i)*time.Hour + time.Duration(i)*time.Second + 250*time.Millisecond)
		m.post(t, db, transfer(fmt.Sprintf("k%d", i), "platform:expense", "partner:bob:accrued", fmt.Sprintf("%d.25", i+1), at))
		times = append(times, at)
	}
	if s := snapshot(t, db); s.Enrolled != 2 || s.Entries != 20 {
		t.Fatalf("first Snapshot = %+v, want 2 accounts enrolled and 20 entries read", s)
	}
	checkAsOf(t, db.Pool, m, instantsAround(times...), "folded")

	// Late: into the third hour, already folded, and at the very
	// microsecond of another entry.
	late := t0.Add(2*time.Hour + 30*time.Minute)
	m.post(t, db, transfer("late", "platform:expense", "partner:bob:accrued", "100.00", late))
	m.post(t, db, transfer("late-same", "platform:expense", "partner:bob:accrued", "0.01", times[4]))
	times = append(times, late, t0.Add(-time.Hour), t0.Add(30*24*time.Hour))
	checkAsOf(t, db.Pool, m, instantsAround(times...), "late, above the cut")
	if s := snapshot(t, db); s.Enrolled != 0 || s.Entries != 4 || s.Holes != 0 {
		t.Fatalf("second Snapshot = %+v, want 4 entries read, no holes", s)
	}
	checkAsOf(t, db.Pool, m, instantsAround(times...), "late, folded")
	requireVerified(t, db.Pool)

	// A bucket altered as the owner: Verify names the account.
	owner, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	if _, err := owner.Exec(context.Background(), `UPDATE snapshot_buckets SET amount = amount + 1
		WHERE level = 3 AND account_id = (SELECT id FROM accounts WHERE code = 'partner:bob:accrued')`); err != nil {
		t.Fatal(err)
	}
	r, err := ledger.Verify(context.Background(), db.Pool, testProgram)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "account partner:bob:accrued: 1 as-of snapshot buckets differ") {
		t.Fatalf("Verify after altering a bucket: %q, want the snapshot of partner:bob:accrued reported", r.Problems)
	}
}

// TestSnapshotHoles leaves a transaction in flight while Snapshot moves the
// cut past its ids: as-of reads count its entries once it commits, before
// and after the next Snapshot folds them; a rolled-back one's hole is
// dropped once older than SealLag.
func TestSnapshotHoles(t *testing.T) {
	ctx := context.Background()
	db, _, m := snapshotSetup(t)
	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Hour)
		m.post(t, db, transfer(fmt.Sprintf("k%d", i), "platform:expense", "partner:bob:accrued", "1.00", at))
		m.post(t, db, transfer(fmt.Sprintf("b%d", i), "platform:bonus", "partner:eve:accrued", "1.50", at))
	}
	if s := snapshot(t, db); s.Enrolled != 4 {
		t.Fatalf("first Snapshot = %+v, want 4 accounts enrolled", s)
	}

	inFlight := func(key string, at time.Time) (pgx.Tx, ledger.Posting) {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) }) // A failed test must not keep the connection.
		// Other accounts than the committed postings': this one holds
		// its balance rows' locks.
		p := transfer(key, "platform:bonus", "partner:eve:accrued", "7.00", at)
		if _, _, err := ledger.Post(ctx, tx, p); err != nil {
			t.Fatal(err)
		}
		return tx, p
	}
	instants := instantsAround(t0, t0.Add(90*time.Minute), t0.Add(3*time.Hour), t0.Add(10*time.Hour))

	tx, p := inFlight("slow", t0.Add(90*time.Minute))
	m.post(t, db, transfer("after", "platform:expense", "partner:bob:accrued", "2.00", t0.Add(5*time.Hour)))
	if s := snapshot(t, db); s.Holes != 1 || s.Entries != 2 {
		t.Fatalf("Snapshot past an open transaction = %+v, want one hole and 2 entries", s)
	}
	checkAsOf(t, db.Pool, m, instants, "in flight")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	m.apply(p)
	checkAsOf(t, db.Pool, m, instants, "committed in a hole")
	if s := snapshot(t, db); s.Holes != 0 || s.Entries != 0 {
		t.Fatalf("Snapshot after the commit = %+v, want the hole folded", s)
	}
	checkAsOf(t, db.Pool, m, instants, "hole folded")
	requireVerified(t, db.Pool)

	tx, _ = inFlight("rolled-back", t0.Add(90*time.Minute))
	m.post(t, db, transfer("after2", "platform:expense", "partner:bob:accrued", "3.00", t0.Add(6*time.Hour)))
	snapshot(t, db)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if s := snapshot(t, db); s.Holes != 1 {
		t.Fatalf("Snapshot after a rollback = %+v, want its hole kept until SealLag", s)
	}
	checkAsOf(t, db.Pool, m, instants, "rolled back")
	if _, err := db.Pool.Exec(ctx, `UPDATE snapshot_holes SET seen_at = seen_at - $1::interval`, ledger.SealLag+time.Second); err != nil {
		t.Fatal(err)
	}
	if s := snapshot(t, db); s.Holes != 0 {
		t.Fatalf("Snapshot after SealLag = %+v, want the rolled-back hole dropped", s)
	}
	checkAsOf(t, db.Pool, m, instants, "hole dropped")
	requireVerified(t, db.Pool)
}
