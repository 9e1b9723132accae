// Package database opens accrue's PostgreSQL (or CockroachDB) database:
// it migrates the schema as the connecting owner, then hands out a pool whose
// connections run as the application role, which may not UPDATE or DELETE
// journal rows. It knows nothing of the schema's meaning: that belongs to
// migrations, ledger and server.
package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/migrations"
)

// MaxConns bounds the application pool.
const MaxConns = 32

// Open migrates the database at url and returns the application's pool.
func Open(ctx context.Context, url string) (*txn.DB, error) {
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("database: connecting: %w", err)
	}
	err = migrations.Apply(ctx, owner)
	owner.Close()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database: parsing url: %w", err)
	}
	cfg.MaxConns = MaxConns
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Bound how long a transaction may hold locks or delay sealing.
		_, err := c.Exec(ctx, "SET ROLE "+migrations.AppRole+"; SET idle_in_transaction_session_timeout = '30s'")
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: connecting as %s: %w", migrations.AppRole, err)
	}
	db, err := txn.Open(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}
