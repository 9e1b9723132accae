// Package migrations holds accrue's schema as SQL files, embedded into the
// binary and applied at start-up with goose. The SQL stays within what both
// PostgreSQL and CockroachDB accept: no advisory locks, LISTEN/NOTIFY or
// triggers. A migration whose statements must differ between the two is
// written in Go (goMigrations) and picks its statements by the server. It owns the schema and the application role's grants, not the
// data: nothing here writes a row of the journal.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// goMigrations are the migrations written in Go, beside the SQL files:
// those whose statements differ between PostgreSQL and CockroachDB.
var goMigrations = []*goose.Migration{eventsSeqPartial}

// AppRole is the role the application logs in as: it may not UPDATE or
// DELETE journal rows, is no superuser and no member of the schema owner,
// so it cannot RESET ROLE or SET ROLE its way back to those rights.
const AppRole = "accrue_app"

// Apply creates the application role if needed and brings the schema up to
// date. It runs as the connecting user, who owns the schema.
func Apply(ctx context.Context, pool *pgxpool.Pool) error {
	if err := EnsureRole(ctx, pool); err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	// Two processes starting on a fresh database must not both migrate: a
	// lock row in a table (not an advisory lock, which CockroachDB lacks)
	// makes the second wait for the first.
	locker, err := lock.NewPostgresTableLocker()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, files, goose.WithLocker(locker), goose.WithGoMigrations(goMigrations...))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrations: applying: %w", err)
	}
	return nil
}

// EnsureRole creates AppRole as a LOGIN role without a password unless it
// exists (an AppRole from before it logged in is given LOGIN), refuses an
// AppRole that is a superuser, and makes the current user a member of it so
// the owner can SET ROLE to it (never the other way round). Roles are
// cluster-wide, so this is not a migration. A password, where the server
// asks for one, is the operator's: ALTER ROLE accrue_app PASSWORD '…'.
func EnsureRole(ctx context.Context, pool *pgxpool.Pool) error {
	// Another process creating the role at the same moment makes this one
	// fail with 23505 (a unique violation in pg_authid) rather than 42710.
	if _, err := pool.Exec(ctx, "CREATE ROLE "+AppRole+" LOGIN"); err != nil && !isCode(err, "42710", "23505") {
		return fmt.Errorf("migrations: creating role %s: %w", AppRole, err)
	}
	var super, login bool
	if err := pool.QueryRow(ctx, "SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1", AppRole).Scan(&super, &login); err != nil {
		return fmt.Errorf("migrations: reading role %s: %w", AppRole, err)
	}
	if super {
		return fmt.Errorf("migrations: role %s is a superuser; make it NOSUPERUSER, the application must not bypass the grants", AppRole)
	}
	if !login {
		// XX000 is "tuple concurrently updated": another process did it.
		if _, err := pool.Exec(ctx, "ALTER ROLE "+AppRole+" LOGIN"); err != nil && !isCode(err, "XX000") {
			return fmt.Errorf("migrations: letting %s log in: %w", AppRole, err)
		}
	}
	// A superuser is a member of every role already; for others, grant it.
	if err := pool.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		super = false
	}
	if !super {
		if _, err := pool.Exec(ctx, "GRANT "+AppRole+" TO CURRENT_USER"); err != nil && !isCode(err, "42710", "0LP01", "XX000") {
			return fmt.Errorf("migrations: granting %s: %w", AppRole, err)
		}
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}
