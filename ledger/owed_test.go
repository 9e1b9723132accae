package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// A batch adds to one balance row of a hot account however many postings
// it holds, so that concurrent batches do not each lock every shard.
func TestBatchTouchesOneShardOfAHotAccount(t *testing.T) {
	db, _ := openDB(t)
	setupProgram(t, db, accountSpec{"platform:hot", ledger.Debit, 16}, accountSpec{"partner:a", ledger.Credit, 1})
	ctx := context.Background()
	for b := range 3 {
		var ps []ledger.Posting
		for i := range 20 {
			ps = append(ps, transfer(fmt.Sprintf("b%d-%d", b, i), "platform:hot", "partner:a", "1.25", t0))
		}
		if err := db.Run(ctx, func(tx pgx.Tx) error { _, _, err := ledger.PostBatch(ctx, tx, ps); return err }); err != nil {
			t.Fatal(err)
		}
	}
	var rows, entries int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), sum(b.entries) FROM balances b JOIN accounts a ON a.id = b.account_id
		WHERE a.program_id = $1 AND a.code = 'platform:hot'`, testProgram).Scan(&rows, &entries); err != nil {
		t.Fatal(err)
	}
	if rows > 3 || entries != 60 {
		t.Errorf("3 batches of 20 postings wrote %d shard rows of the hot account (want at most 3) holding %d entries (want 60)", rows, entries)
	}
	if got := balances(t, db.Pool, t0.AddDate(1, 0, 0))["platform:hot"]; !got.Equal(amount("75")) {
		t.Errorf("hot account as of a year on = %s, want 75", got)
	}
	requireVerified(t, db.Pool)
}

// PostBatchOwing writes the postings but leaves the balances to Apply:
// until then they do not move, and Apply twice adds once.
func TestPostBatchOwingAppliesOnce(t *testing.T) {
	db, _ := openDB(t)
	setupProgram(t, db, accountSpec{"platform:hot", ledger.Debit, 4}, accountSpec{"partner:a", ledger.Credit, 1})
	ctx := context.Background()
	err := db.Run(ctx, func(tx pgx.Tx) error {
		_, _, owed, err := ledger.PostBatchOwing(ctx, tx, []ledger.Posting{transfer("k1", "platform:hot", "partner:a", "7", t0)})
		if err != nil {
			return err
		}
		if b := balances(t, tx, time.Time{}); !b["platform:hot"].IsZero() {
			return fmt.Errorf("balance before Apply = %s, want 0", b["platform:hot"])
		}
		if err := owed.Apply(ctx, tx); err != nil {
			return err
		}
		return owed.Apply(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if b := balances(t, db.Pool, time.Time{}); !b["platform:hot"].Equal(amount("7")) || !b["partner:a"].Equal(amount("7")) {
		t.Errorf("balances after Apply twice = %v, want 7 each", b)
	}
	requireVerified(t, db.Pool)
}
