package pgtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Each test's database is its own: a table made in one is absent from the
// other, and both start empty.
func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	first, second := connect(t, pgtest.DatabaseURL(t)), connect(t, pgtest.DatabaseURL(t))
	if _, err := first.Exec(ctx, "create table marker (id int)"); err != nil {
		t.Fatal(err)
	}
	var tables int
	err := second.QueryRow(ctx,
		"select count(*) from pg_tables where schemaname = 'public'").Scan(&tables)
	if err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("second database has %d tables, want 0", tables)
	}
}

// The usual shape: a pool on the test's database, closed in a cleanup
// registered after DatabaseURL's, so it runs before the database is dropped.
func TestWithPool(t *testing.T) {
	pool := pgtest.Pool(t)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestParallelDatabases(t *testing.T) {
	const n = 4
	var (
		mu    sync.Mutex
		names = map[string]int{}
	)
	// The group returns once its parallel subtests are done.
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint("db", i), func(t *testing.T) {
				t.Parallel()
				conn := connect(t, pgtest.DatabaseURL(t))
				var name string
				if err := conn.QueryRow(context.Background(), "select current_database()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				names[name]++
				mu.Unlock()
			})
		}
	})
	if len(names) != n {
		t.Fatalf("%d parallel tests ran in databases %v, want %d different ones", n, names, n)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
