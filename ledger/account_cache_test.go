package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// postIn posts ps with PostBatchOwingIn in its own transaction, applies
// what they owe, and remembers the accounts it read once it commits (as
// the service does); it returns how many accounts it read.
func postIn(t *testing.T, db *txn.DB, cache *ledger.AccountCache, open string, fail bool, ps ...ledger.Posting) (int, error) {
	t.Helper()
	ctx := context.Background()
	var fetched []ledger.Account
	errRollback := errors.New("rolled back on purpose")
	err := db.Run(ctx, func(tx pgx.Tx) error {
		if open != "" {
			if _, err := ledger.OpenAccount(ctx, tx, testProgram, open, ledger.Credit, 1, recorded); err != nil {
				return err
			}
		}
		journal, err := ledger.LockProgram(ctx, tx, testProgram)
		if err != nil {
			return err
		}
		_, _, owed, err := ledger.PostBatchOwingIn(ctx, tx, journal, cache, ps)
		if err != nil {
			return err
		}
		fetched = owed.Fetched()
		if err := owed.Apply(ctx, tx); err != nil {
			return err
		}
		if fail {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return len(fetched), nil
	}
	if err == nil {
		cache.Remember(fetched)
	}
	return len(fetched), err
}

// A batch reads only the accounts its cache does not hold, posts to the
// right ones either way, and an account opened by a transaction that
// rolled back is never remembered: posting to it later is refused as an
// unknown account instead of naming an account id that does not exist.
func TestPostBatchOwingInReadsOnlyUnknownAccounts(t *testing.T) {
	db, _ := openDB(t)
	setupProgram(t, db, accountSpec{"platform:hot", ledger.Debit, 4}, accountSpec{"partner:a", ledger.Credit, 1})
	cache := ledger.NewAccountCache(100)

	if n, err := postIn(t, db, cache, "", false, transfer("k1", "platform:hot", "partner:a", "7", t0)); err != nil || n != 2 {
		t.Fatalf("first batch read %d accounts (%v), want both", n, err)
	}
	if cache.Len() != 2 {
		t.Fatalf("cache holds %d accounts after a commit, want 2", cache.Len())
	}
	if n, err := postIn(t, db, cache, "", false, transfer("k2", "platform:hot", "partner:a", "3", t0)); err != nil || n != 0 {
		t.Fatalf("second batch read %d accounts (%v), want none: the cache holds them", n, err)
	}

	// Opened and posted to in a transaction that rolls back.
	if n, err := postIn(t, db, cache, "partner:ghost", true, transfer("k3", "platform:hot", "partner:ghost", "5", t0)); err != nil || n != 1 {
		t.Fatalf("rolled-back batch read %d accounts (%v), want the new one", n, err)
	}
	_, err := postIn(t, db, cache, "", false, transfer("k4", "platform:hot", "partner:ghost", "5", t0))
	if fault.CodeOf(err) != fault.CodeInvalidArgument {
		t.Fatalf("posting to an account whose opening rolled back: %v, want the unknown account refused", err)
	}
	if cache.Len() != 2 {
		t.Errorf("cache holds %d accounts, want the 2 committed ones", cache.Len())
	}
	b := balances(t, db.Pool, t0.AddDate(1, 0, 0))
	if !b["platform:hot"].Equal(amount("10")) || !b["partner:a"].Equal(amount("10")) {
		t.Errorf("balances %v, want 10 on each side", b)
	}
	requireVerified(t, db.Pool)
}

// A full cache forgets what it holds before it remembers more, so it
// never holds more than its bound.
func TestAccountCacheStaysWithinItsBound(t *testing.T) {
	cache := ledger.NewAccountCache(3)
	var accounts []ledger.Account
	for i, code := range []string{"a", "b", "c", "d", "e"} {
		accounts = append(accounts, ledger.Account{ID: int64(i + 1), Program: testProgram, Code: code})
	}
	cache.Remember(accounts[:2])
	cache.Remember(accounts[2:4])
	if n := cache.Len(); n != 2 {
		t.Errorf("after 2 then 2 accounts in a cache of 3: %d held, want the last 2", n)
	}
	cache.Remember(accounts)
	if n := cache.Len(); n != 3 {
		t.Errorf("after 5 accounts at once in a cache of 3: %d held, want 3", n)
	}
}
