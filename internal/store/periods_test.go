package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// program creates program p in the journal, created at t.
func program(t *testing.T, db *txn.DB, at time.Time) {
	t.Helper()
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		_, err := ledger.CreateProgram(context.Background(), tx, "p", "USD", "UTC", at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The schedule cursor is absent until saved, then only moves forward.
func TestScheduleCursor(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	program(t, db, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, found, err := store.ScheduleCursor(ctx, db.Pool, "p"); err != nil || found {
		t.Fatalf("a new program's cursor: found %v, %v", found, err)
	}
	feb, mar := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tick := range []time.Time{feb, mar, feb} {
		if err := store.SaveScheduleCursor(ctx, db.Pool, "p", tick); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := store.ScheduleCursor(ctx, db.Pool, "p")
	if err != nil || !found || !got.Equal(mar) {
		t.Fatalf("cursor %v %v %v, want %v (never back)", got, found, err, mar)
	}
}

// A lease is claimed once while live, checked, renewed only by its holder
// (also after its own close), and a closed period is never claimed again.
func TestPeriodLease(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	program(t, db, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	mine := store.Lease{Program: "p", Period: "2026-01", Holder: "me"}
	other := store.Lease{Program: "p", Period: "2026-01", Holder: "other"}
	claim := func(l store.Lease) (claimed bool, row store.PeriodClaim, held bool) {
		t.Helper()
		err := db.Run(ctx, func(tx pgx.Tx) error {
			var err error
			if claimed, row, err = store.ClaimPeriod(ctx, tx, l, time.Minute); err != nil {
				return err
			}
			held, err = store.HoldsLease(ctx, tx, l)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return claimed, row, held
	}
	if claimed, _, held := claim(mine); !claimed || !held {
		t.Fatalf("first claim: claimed %v held %v", claimed, held)
	}
	if claimed, row, held := claim(other); claimed || held || row.By != "me" || row.Status != "closing" {
		t.Fatalf("a claim during a live lease: claimed %v held %v row %+v", claimed, held, row)
	}
	if marked, _, err := store.MarkClosed(ctx, db.Pool, other, time.Now()); err != nil || marked {
		t.Fatalf("closed by a non-holder: %v %v", marked, err)
	}
	if marked, status, err := store.MarkClosed(ctx, db.Pool, mine, time.Now()); err != nil || !marked || status != "closed" {
		t.Fatalf("closed by its holder: %v %s %v", marked, status, err)
	}
	for l, want := range map[store.Lease]bool{mine: true, other: false} {
		if held, err := store.RenewLease(ctx, db.Pool, l, time.Minute); err != nil || held != want {
			t.Errorf("renewal by %s after the close: %v %v, want %v", l.Holder, held, err, want)
		}
	}
	if claimed, row, _ := claim(other); claimed || row.Status != "closed" {
		t.Fatalf("a claim of a closed period: claimed %v row %+v", claimed, row)
	}
	closed, err := store.ClosedPeriods(ctx, db.Pool, "p", "2026-01", "2026-02")
	if err != nil || !closed["2026-01"] || len(closed) != 1 {
		t.Fatalf("closed periods %v %v", closed, err)
	}
}

// Statements are written once per partner and period, and read back in
// (period, partner) order after a keyset position.
func TestStatements(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	program(t, db, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, p := range []string{"a", "b"} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO partners (program_id, id, code, status, registered_at)
			VALUES ('p', $1, $1, 'active', now())`, p); err != nil {
			t.Fatal(err)
		}
	}
	issued := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	write := func(period string, rows ...store.StatementRow) {
		t.Helper()
		if err := store.InsertStatements(ctx, db.Pool, "p", period, rows, issued); err != nil {
			t.Fatal(err)
		}
	}
	write("2026-01", store.StatementRow{Partner: "b", Status: "final", Released: "100.00", Body: []byte(`{"n":1}`)},
		store.StatementRow{Partner: "a", Status: "preliminary", Released: "0.00", Body: []byte(`{"n":2}`)})
	write("2026-01", store.StatementRow{Partner: "a", Status: "final", Released: "9.00", Body: []byte(`{"n":3}`)})
	write("2026-02", store.StatementRow{Partner: "a", Status: "final", Released: "5.00", Body: []byte(`{"n":4}`)})
	n, released, err := store.PeriodSummary(ctx, db.Pool, "p", "2026-01")
	if err != nil || n != 2 || released.String() != "100" {
		t.Fatalf("summary %d %v %v, want 2 statements releasing 100", n, released, err)
	}
	page, err := store.ClosingPage(ctx, db.Pool, "p", "2026-02", "", 10)
	if err != nil || len(page) != 2 || page[0] != (store.ClosingPartner{ID: "a", Active: true, Stated: true}) ||
		page[1] != (store.ClosingPartner{ID: "b", Active: true}) {
		t.Fatalf("partners in February: %v %v", page, err)
	}
	if page, err = store.ClosingPage(ctx, db.Pool, "p", "2026-02", "a", 10); err != nil || len(page) != 1 || page[0].ID != "b" {
		t.Fatalf("partners after a: %v %v", page, err)
	}
	if n, err := store.CountPartners(ctx, db.Pool, "p"); err != nil || n != 2 {
		t.Fatalf("count %d %v", n, err)
	}
	bodies, err := store.StatementBodies(ctx, db.Pool, store.StatementFilter{Program: "p", After: [2]string{"2026-01", "a"}, Limit: 10})
	if err != nil || len(bodies) != 2 || string(bodies[0]) != `{"n": 1}` || string(bodies[1]) != `{"n": 4}` {
		t.Fatalf("bodies after (2026-01, a): %q %v", bodies, err)
	}
}
