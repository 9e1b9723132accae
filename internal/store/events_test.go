package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
)

func publish(t *testing.T, db *txn.DB) int {
	t.Helper()
	var n int
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		var err error
		n, err = store.PublishEvents(context.Background(), tx, 100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func appendIn(t *testing.T, tx pgx.Tx, typ string) {
	t.Helper()
	err := store.AppendEvents(context.Background(), tx, []store.Event{{Program: "p", Type: typ, At: time.Now(), Resource: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
}

func feedTypes(t *testing.T, db *txn.DB, after int64) ([]string, int64) {
	t.Helper()
	events, err := store.ListEvents(context.Background(), db.Pool, store.EventFilter{Program: "p", After: after}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
		after = e.Seq
	}
	return types, after
}

// Two transactions append events; the one with the higher id commits
// first and a consumer reads up to it. The lower id commits later: the
// consumer, reading after its cursor, still gets it. (With the id as the
// cursor it would be skipped: its id is below the cursor.)
func TestFeedNeverSkipsALateCommit(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	low, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer low.Rollback(ctx)
	appendIn(t, low, "low")
	high, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendIn(t, high, "high")
	if err := high.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := publish(t, db); n != 1 {
		t.Fatalf("published %d, want only the committed event", n)
	}
	got, cursor := feedTypes(t, db, 0)
	if len(got) != 1 || got[0] != "high" {
		t.Fatalf("feed = %v, want [high]", got)
	}
	if err := low.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, db)
	got, _ = feedTypes(t, db, cursor)
	if len(got) != 1 || got[0] != "low" {
		t.Fatalf("feed after cursor %d = %v, want [low]", cursor, got)
	}
	var lowID, highID int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id) FILTER (WHERE type = 'low'), min(id) FILTER (WHERE type = 'high') FROM events`).Scan(&lowID, &highID); err != nil {
		t.Fatal(err)
	}
	if lowID >= highID {
		t.Fatalf("ids low %d, high %d: the test needs the late commit to have the lower id", lowID, highID)
	}
}

// A rolled-back transaction leaves no event, and publishing twice stamps
// each event once.
func TestFeedHoldsOnlyCommittedEventsOnce(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendIn(t, tx, "gone")
	_ = tx.Rollback(ctx)
	err = db.Run(ctx, func(tx pgx.Tx) error {
		return store.AppendEvents(ctx, tx, []store.Event{
			{Program: "p", Type: "a", At: time.Now(), Resource: []byte(`{}`)},
			{Program: "p", Type: "b", At: time.Now(), Resource: []byte(`{}`)},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := publish(t, db) + publish(t, db); n != 2 {
		t.Fatalf("published %d events over two runs, want 2", n)
	}
	got, cursor := feedTypes(t, db, 0)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" || cursor != 2 {
		t.Fatalf("feed = %v up to %d, want [a b] up to 2", got, cursor)
	}
}
