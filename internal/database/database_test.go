package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestApplicationCannotRegainOwnerRights connects as the application, the
// way accrued does, and tries what SET ROLE alone did not prevent: RESET
// ROLE back to a superuser, SET ROLE to the owner, then rewriting the
// journal or an account's definition. Every attempt fails 42501.
func TestApplicationCannotRegainOwnerRights(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatalf("database.Open: %v", err)
	}
	defer db.Pool.Close()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var user string
	if err := conn.QueryRow(ctx, "SELECT session_user").Scan(&user); err != nil || user != migrations.AppRole {
		t.Fatalf("the application logs in as %q (%v), want %s", user, err, migrations.AppRole)
	}
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatalf("RESET ROLE: %v", err)
	}
	for _, stmt := range []string{
		"SET ROLE postgres",
		"UPDATE entries SET amount = amount * 2",
		"DELETE FROM transactions",
		"UPDATE accounts SET normal_side = -normal_side",
		"UPDATE accounts SET currency = 'EUR'",
		"UPDATE accounts SET code = code || 'x'",
		"DELETE FROM accounts",
		"UPDATE statements SET released = released + 1",
		"DELETE FROM statements",
	} {
		_, err := conn.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the application after RESET ROLE: %v, want SQLSTATE 42501", stmt, err)
		}
	}
}

// TestOpenRefusesAPrivilegedApplicationUser gives OpenWith the owner's URL
// as the application's: accrued must not run with rights that bypass the
// journal's grants.
func TestOpenRefusesAPrivilegedApplicationUser(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	db, err := database.OpenWith(context.Background(), database.Options{URL: url, MigrateURL: url})
	if err == nil {
		db.Pool.Close()
	}
	if !errors.Is(err, database.ErrPrivileged) {
		t.Fatalf("OpenWith as the superuser: %v, want ErrPrivileged", err)
	}
}

// TestConnectionsRunWithoutJIT checks the settings every pooled connection
// gets: PostgreSQL's JIT compiled the webhook fan-out (a plan estimated
// high on empty tables) for tens of milliseconds a call.
func TestConnectionsRunWithoutJIT(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatalf("database.Open: %v", err)
	}
	defer db.Pool.Close()
	var jit, idle string
	if err := db.Pool.QueryRow(ctx, "SELECT current_setting('jit'), current_setting('idle_in_transaction_session_timeout')").Scan(&jit, &idle); err != nil {
		t.Fatal(err)
	}
	if jit != "off" || idle != "30s" {
		t.Errorf("a pooled connection has jit = %s, idle_in_transaction_session_timeout = %s; want off and 30s", jit, idle)
	}
}
