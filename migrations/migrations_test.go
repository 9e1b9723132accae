package migrations_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestConcurrentApply: four processes starting on one fresh database all
// succeed, and every migration is applied exactly once.
func TestConcurrentApply(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	var (
		wg   sync.WaitGroup
		errs = make([]error, 4)
	)
	for i := range errs {
		wg.Go(func() {
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = migrations.Apply(ctx, pool)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Apply %d: %v", i, err)
		}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var applied, distinct int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	if want := len(files) + migrations.GoMigrations; applied != want || distinct != want {
		t.Fatalf("goose recorded %d applications of %d migrations, want each of %d once", applied, distinct, want)
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('transactions', 'entries', 'orders', 'statements')`).Scan(&tables); err != nil || tables != 4 {
		t.Fatalf("%d of the 4 core tables exist (%v)", tables, err)
	}
}

// TestJournalIndexesSkipNulls: the transactions' reversal and order
// indexes hold only the transactions that reverse one or name an order
// (00024), so a release or a plain posting inserts no entry into them.
func TestJournalIndexesSkipNulls(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t)
	for index, predicate := range map[string]string{
		"transactions_reverses": "WHERE (reverses_id IS NOT NULL)",
		"transactions_order":    "WHERE ((refs ->> 'order'::text) IS NOT NULL)",
	} {
		var def string
		if err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = 'transactions' AND indexname = $1`, index).Scan(&def); err != nil {
			t.Fatalf("%s: %v", index, err)
		}
		if !strings.HasSuffix(def, predicate) {
			t.Errorf("%s is %s, want it partial: %s", index, def, predicate)
		}
	}
}

// TestEventsSeqIndexSkipsUnstampedEvents: the outbox's unique index on
// seq holds only stamped events (00025), and still refuses a feed
// position taken twice.
func TestEventsSeqIndexSkipsUnstampedEvents(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t)
	var defs []string
	rows, err := pool.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = 'events' AND indexdef LIKE '%UNIQUE%(seq)%'`)
	if err != nil {
		t.Fatal(err)
	}
	if defs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || !strings.HasSuffix(defs[0], "WHERE (seq IS NOT NULL)") {
		t.Fatalf("unique indexes on events.seq: %q, want one, partial on seq IS NOT NULL", defs)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO programs (id, currency, timezone, schedule_cursor, created_at) VALUES ('p', 'USD', 'UTC', now(), now())`); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO events (program_id, type, at, resource, seq) VALUES ('p', 't', now(), '{}', $1)`
	for _, seq := range []any{nil, nil, 1} {
		if _, err := pool.Exec(ctx, insert, seq); err != nil {
			t.Fatalf("seq %v: %v", seq, err)
		}
	}
	if _, err := pool.Exec(ctx, insert, 1); err == nil {
		t.Fatal("a second event at seq 1 was accepted")
	}
}

// migratedPool is a pool on a fresh database with every migration
// applied, closed when the test ends.
func migratedPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.Pool(t)
	if err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}
