package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// TestSealRaceLoserSealsNothing races two sealers of one program: the
// second read the chain before the first committed, so its block conflicts
// and is dropped. It must then report that it sealed nothing: a head it
// returned would be one the journal does not contain, and accrued, which
// remembers the heads it signed, would refuse to seal that program again
// ("the journal lost a signed head") after two concurrent GetJournalHead
// calls.
func TestSealRaceLoserSealsNothing(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	mustPost(t, db, transfer("k1", "platform:commission_expense", "partner:bob:accrued", "1.00", t0))

	first, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	won, err := ledger.Seal(ctx, first, testProgram, farFuture, testKey)
	if err != nil || won.Head.Seq != 1 {
		t.Fatalf("first Seal: %+v, %v; want seal 1", won, err)
	}
	// A second transaction makes the loser's block differ from the winner's.
	mustPost(t, db, transfer("k2", "platform:commission_expense", "partner:bob:accrued", "2.00", t0.Add(time.Hour)))

	second, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Rollback(ctx)
	var secondPID int
	if err := second.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&secondPID); err != nil {
		t.Fatal(err)
	}
	done := make(chan sealResult, 1)
	go func() {
		s, err := ledger.Seal(ctx, second, testProgram, farFuture, testKey)
		done <- sealResult{s, err}
	}()
	waitBlocked(t, db.Pool, secondPID, done)
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	lost := <-done
	if lost.err != nil {
		return // refusing is fine too: nothing was claimed
	}
	if err := second.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if lost.sealed.Head.Seq == 0 {
		return
	}
	found, err := ledger.ContainsHead(ctx, db.Pool, lost.sealed.Head)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Errorf("the losing sealer returned seal %d (%d transactions), which the journal does not contain",
			lost.sealed.Head.Seq, lost.sealed.Transactions)
	}
}

// sealResult is what one Seal call returned.
type sealResult struct {
	sealed ledger.Sealed
	err    error
}

// waitBlocked returns once backend pid waits for a lock, failing t if the
// sealer finished first (then the race was not run) or after 30 s.
func waitBlocked(t *testing.T, q ledger.Querier, pid int, done <-chan sealResult) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var waiting bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		select {
		case r := <-done:
			t.Fatalf("the second sealer finished before the first committed: %+v", r)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the second sealer never waited for the first")
}
