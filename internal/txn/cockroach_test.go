package txn_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/txn"
)

// cockroachPath is db switched to CockroachDB's path, as EnvMode=crdb
// would switch it.
func cockroachPath(db *txn.DB) *txn.DB {
	return &txn.DB{Pool: db.Pool, CockroachPath: true}
}

// TestCockroachPathRetriesLostUpdates: eight read-modify-write increments
// of one row at SERIALIZABLE conflict with each other; cockroach-go's loop
// must restart the losers in fresh transactions (a savepoint rollback on
// PostgreSQL keeps the old snapshot and fails all 50 retries), so every
// increment lands.
func TestCockroachPathRetriesLostUpdates(t *testing.T) {
	ctx := context.Background()
	pool, db := openWithTable(t, `CREATE TABLE counter (id int PRIMARY KEY, n int); INSERT INTO counter VALUES (1, 0)`)
	db = cockroachPath(db)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Run(ctx, func(tx pgx.Tx) error {
				var n int
				if err := tx.QueryRow(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE counter SET n = $1 WHERE id = 1`, n+1)
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("increment %d: %v", i, err)
		}
	}
	if n := count(t, pool, `SELECT n FROM counter`); n != workers {
		t.Fatalf("counter %d, want %d", n, workers)
	}
}

// TestCockroachPathDoesNotSwallowCommitFailures: two doctors on call each
// go off call if the other is still on (write skew). Both read, both write,
// then both commit: PostgreSQL's SSI fails the second COMMIT with 40001.
// On CockroachDB RELEASE SAVEPOINT commits and cockroach-go ignores the
// COMMIT after it; on PostgreSQL that would report success for a
// transaction that rolled back. Every Run that returns nil must have
// committed its row, and exactly one doctor goes off call.
func TestCockroachPathDoesNotSwallowCommitFailures(t *testing.T) {
	ctx := context.Background()
	pool, db := openWithTable(t, `CREATE TABLE doctors (id int PRIMARY KEY, on_call bool);
		INSERT INTO doctors VALUES (1, true), (2, true);
		CREATE TABLE committed (id int)`)
	db = cockroachPath(db)
	var read, wrote sync.WaitGroup
	read.Add(2)
	wrote.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = db.Run(ctx, func(tx pgx.Tx) error {
				var on int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM doctors WHERE on_call`).Scan(&on); err != nil {
					return err
				}
				if first { // Both attempts read before either writes...
					read.Done()
					read.Wait()
				}
				if _, err := tx.Exec(ctx, `INSERT INTO committed VALUES ($1)`, i); err != nil {
					return err
				}
				if on == 2 {
					if _, err := tx.Exec(ctx, `UPDATE doctors SET on_call = false WHERE id = $1`, i+1); err != nil {
						return err
					}
				}
				if first { // ...and both write before either commits.
					first = false
					wrote.Done()
					wrote.Wait()
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Run: %v, %v; want both to succeed, the loser after a restart", errs[0], errs[1])
	}
	if n := count(t, pool, `SELECT count(*) FROM committed`); n != 2 {
		t.Errorf("%d transactions committed, want the 2 that reported success", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM doctors WHERE on_call`); n != 1 {
		t.Errorf("%d doctors on call, want 1", n)
	}
}

// TestCockroachPathTakesNoShareLocks: at SERIALIZABLE CockroachDB takes
// no lock for FOR SHARE, so while a transaction on its path holds a row it
// read FOR SHARE (by QueryRow, Query, Exec or in a batch), another may
// still lock the row FOR UPDATE NOWAIT. On PostgreSQL's own path the share
// lock makes NOWAIT fail.
func TestCockroachPathTakesNoShareLocks(t *testing.T) {
	ctx := context.Background()
	pool, db := openWithTable(t, `CREATE TABLE rows (id int PRIMARY KEY); INSERT INTO rows VALUES (1)`)
	const read = `SELECT id FROM rows WHERE id = 1 FOR SHARE`
	ways := map[string]func(pgx.Tx) error{
		"QueryRow": func(tx pgx.Tx) error { var id int; return tx.QueryRow(ctx, read).Scan(&id) },
		"Query": func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, read)
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		},
		"Exec": func(tx pgx.Tx) error { _, err := tx.Exec(ctx, read); return err },
		"SendBatch": func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(read)
			return tx.SendBatch(ctx, b).Close()
		},
	}
	lockedElsewhere := func() error {
		_, err := pool.Exec(ctx, `SELECT id FROM rows WHERE id = 1 FOR UPDATE NOWAIT`)
		return err
	}
	for name, readFn := range ways {
		for _, crdbPath := range []bool{false, true} {
			run := &txn.DB{Pool: db.Pool, CockroachPath: crdbPath}
			var lockErr error
			err := run.Run(ctx, func(tx pgx.Tx) error {
				if err := readFn(tx); err != nil {
					return err
				}
				lockErr = lockedElsewhere()
				return nil
			})
			if err != nil {
				t.Fatalf("%s, CockroachPath %v: %v", name, crdbPath, err)
			}
			if (lockErr == nil) != crdbPath {
				t.Errorf("%s, CockroachPath %v: FOR UPDATE NOWAIT elsewhere: %v; want it to succeed only on CockroachDB's path", name, crdbPath, lockErr)
			}
		}
	}
}

// TestModeFromEnv: EnvMode chooses the path; an unknown value is refused
// rather than silently taking the default.
func TestModeFromEnv(t *testing.T) {
	ctx := context.Background()
	pool, _ := openWithTable(t, `SELECT 1`)
	for _, c := range []struct {
		mode     string
		crdbPath bool
		ok       bool
	}{{"", false, true}, {txn.ModeCockroach, true, true}, {"cockroach", false, false}} {
		t.Setenv(txn.EnvMode, c.mode)
		db, err := txn.Open(ctx, pool)
		if (err == nil) != c.ok || (err == nil && db.CockroachPath != c.crdbPath) {
			t.Errorf("%s=%q: db %+v, err %v; want CockroachPath %v, ok %v", txn.EnvMode, c.mode, db, err, c.crdbPath, c.ok)
		}
	}
}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadOnlyRestartsAndRefusesWrites: on every path ReadOnly restarts a
// read that the database asks to retry (an injected 40001) and refuses a
// write.
func TestReadOnlyRestartsAndRefusesWrites(t *testing.T) {
	ctx := context.Background()
	pool, _ := openWithTable(t, `CREATE TABLE rows (id int)`)
	for _, crdbPath := range []bool{false, true} {
		ro := &txn.DB{Pool: pool, CockroachPath: crdbPath}
		attempts := 0
		err := ro.ReadOnly(ctx, func(tx pgx.Tx) error {
			attempts++
			if attempts == 1 {
				_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$`)
				return err
			}
			return nil
		})
		if err != nil || attempts != 2 {
			t.Errorf("CockroachPath %v: err %v after %d attempts; want success at the second", crdbPath, err, attempts)
		}
		err = ro.ReadOnly(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO rows VALUES (1)`)
			return err
		})
		if err == nil {
			t.Errorf("CockroachPath %v: a write in ReadOnly succeeded", crdbPath)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM rows`); n != 0 {
		t.Fatalf("%d rows written by read-only transactions", n)
	}
}
