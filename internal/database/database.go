// Package database opens accrue's PostgreSQL (or CockroachDB) database:
// it migrates the schema with the owner's credentials, then hands out a pool
// whose connections log in as the application role, which may not UPDATE or
// DELETE journal rows and cannot regain those rights (it is no superuser and
// no member of the schema owner). It knows nothing of the schema's meaning:
// that belongs to migrations, ledger and store.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/migrations"
)

// ConnsMax bounds the application pool.
const ConnsMax = 32

// ApplicationName names the application's connections in pg_stat_activity
// unless its URL sets application_name.
const ApplicationName = "accrued"

// Options say where the database is and as whom to connect.
type Options struct {
	// URL is the application's connection: its user must be
	// migrations.AppRole (or another role without the owner's rights).
	// Empty means MigrateURL with its user replaced by migrations.AppRole
	// and no password, which suits trust, peer or certificate
	// authentication and a password file (the embedded cluster, tests).
	URL string
	// MigrateURL is the schema owner's connection, used only to migrate.
	// Empty means no migration (`accrue migrate` ran it).
	MigrateURL string
	// Tracer, when set, traces the application pool's statements
	// (internal/telemetry).
	Tracer pgx.QueryTracer
	// Notice, when set, receives the notices the server sends on the
	// application pool's connections (tests read auto_explain's plans
	// through it).
	Notice pgconn.NoticeHandler
}

// Open migrates the database at ownerURL and returns the application's
// pool, logged in as migrations.AppRole (see Options.URL).
func Open(ctx context.Context, ownerURL string) (*txn.DB, error) {
	return OpenWith(ctx, Options{MigrateURL: ownerURL})
}

// OpenWith migrates with opts.MigrateURL when given and returns the
// application's pool on opts.URL. It refuses an application connection
// that could bypass the journal's grants.
func OpenWith(ctx context.Context, opts Options) (*txn.DB, error) {
	if opts.MigrateURL != "" {
		if err := Migrate(ctx, opts.MigrateURL); err != nil {
			return nil, err
		}
	}
	appURL := opts.URL
	if appURL == "" {
		var err error
		if appURL, err = AppURL(opts.MigrateURL); err != nil {
			return nil, err
		}
	}
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		return nil, fmt.Errorf("database: parsing url: %w", err)
	}
	cfg.MaxConns = ConnsMax
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	if opts.Notice != nil {
		cfg.ConnConfig.OnNotice = opts.Notice
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = ApplicationName
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Bound how long a transaction may hold locks or delay sealing.
		set := "SET idle_in_transaction_session_timeout = '30s'"
		if c.PgConn().ParameterStatus("crdb_version") == "" {
			// PostgreSQL's JIT compiles a plan whose cost estimate is
			// high, as the webhook fan-out's and the snapshotter's can
			// be: milliseconds of CPU each time, for statements that run
			// in a fraction of that. (CockroachDB has no such setting.)
			set += "; SET jit = off"
		}
		_, err := c.Exec(ctx, set)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: connecting as %s: %w", cfg.ConnConfig.User, err)
	}
	if err := CheckLeastPrivilege(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db, err := txn.Open(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies the schema migrations as the owner at ownerURL.
func Migrate(ctx context.Context, ownerURL string) error {
	owner, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("database: connecting to migrate: %w", err)
	}
	defer owner.Close()
	return migrations.Apply(ctx, owner)
}

// AppURL is ownerURL with its user replaced by migrations.AppRole and its
// password dropped.
func AppURL(ownerURL string) (string, error) {
	u, err := url.Parse(ownerURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("database: the database URL must be a postgres:// or postgresql:// URL")
	}
	u.User = url.User(migrations.AppRole)
	return u.String(), nil
}

// ErrPrivileged is returned when the application's connection could change
// the journal behind the grants.
var ErrPrivileged = errors.New("database: the application's database user is too privileged")

// CheckLeastPrivilege fails with ErrPrivileged when the pool's user is a
// superuser or a member of the owner of the journal's tables (it could then
// RESET ROLE or SET ROLE to regain UPDATE and DELETE).
func CheckLeastPrivilege(ctx context.Context, pool *pgxpool.Pool) error {
	var (
		user        string
		super, owns bool
	)
	err := pool.QueryRow(ctx, `SELECT current_user, r.rolsuper,
			COALESCE((SELECT pg_has_role(current_user, t.tableowner, 'MEMBER') FROM pg_tables t
				WHERE t.tablename = 'transactions' AND t.schemaname = current_schema()), false)
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &owns)
	if err != nil {
		return fmt.Errorf("database: checking the application's privileges: %w", err)
	}
	if super || owns {
		return fmt.Errorf("%w: %s is a superuser or a member of the schema owner; connect as %s (see README, Least privilege)",
			ErrPrivileged, user, migrations.AppRole)
	}
	return nil
}
