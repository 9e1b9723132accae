package txn_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openWithTable opens a fresh database with one table created by ddl.
func openWithTable(t *testing.T, ddl string) (*pgxpool.Pool, *txn.DB) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	db, err := txn.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	return pool, db
}

// TestRunRestartsTheWholeTransaction injects a serialization failure
// (40001) and a deadlock (40P01) from the database after a write: the
// attempt's write must vanish with it and the retry must start from a
// clean transaction, so exactly the last attempt's rows are committed.
func TestRunRestartsTheWholeTransaction(t *testing.T) {
	ctx := context.Background()
	pool, db := openWithTable(t, `CREATE TABLE attempts (n int)`)
	attempt := 0
	err := db.Run(ctx, func(tx pgx.Tx) error {
		attempt++
		if _, err := tx.Exec(ctx, `INSERT INTO attempts VALUES ($1)`, attempt); err != nil {
			return err
		}
		switch attempt {
		case 1:
			_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$`)
			return err
		case 2:
			_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40P01'; END $$`)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT n FROM attempts ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if attempt != 3 || len(got) != 1 || got[0] != 3 {
		t.Fatalf("attempts %d, committed rows %v; want 3 attempts and only the third's row", attempt, got)
	}
}

// TestRunDoesNotRetryOtherErrors: a constraint violation is the caller's
// answer, returned after one attempt with nothing written.
func TestRunDoesNotRetryOtherErrors(t *testing.T) {
	ctx := context.Background()
	_, db := openWithTable(t, `CREATE TABLE once (n int PRIMARY KEY)`)
	attempt := 0
	err := db.Run(ctx, func(tx pgx.Tx) error {
		attempt++
		_, err := tx.Exec(ctx, `INSERT INTO once VALUES (1), (1)`)
		return err
	})
	if err == nil || attempt != 1 || txn.Retryable(err) {
		t.Fatalf("err %v after %d attempts; want the unique violation after 1", err, attempt)
	}
}
