// Package txn runs a database transaction and restarts it whole when the
// database asks for a retry. It is the only place accrue begins a read-write
// transaction.
//
// On PostgreSQL a serialization failure (40001) or a deadlock (40P01) aborts
// the transaction: Run rolls back and runs fn again in a fresh transaction, with
// jittered exponential backoff. A savepoint-based retry (cockroach-go's
// ExecuteTx) is not used there because on PostgreSQL a savepoint keeps the old
// snapshot and the retry conflicts forever; on CockroachDB, where the savepoint
// protocol is native and cheap, Run delegates to cockroach-go's crdbpgx.ExecuteTx.
package txn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	crdbpgx "github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MaxAttempts bounds how often one transaction is tried before giving up.
const MaxAttempts = 30

// Backoff bounds between attempts.
const (
	backoffMin = 2 * time.Millisecond
	backoffMax = 250 * time.Millisecond
)

// DB is a pool plus what Run needs to know about the server behind it.
type DB struct {
	Pool *pgxpool.Pool
	// Cockroach is true when the server is CockroachDB.
	Cockroach bool
}

// Open wraps pool and detects the server kind.
func Open(ctx context.Context, pool *pgxpool.Pool) (*DB, error) {
	var version string
	if err := pool.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return nil, fmt.Errorf("txn: reading server version: %w", err)
	}
	return &DB{Pool: pool, Cockroach: strings.Contains(version, "CockroachDB")}, nil
}

// Run executes fn in a read-committed transaction, restarting the whole
// transaction on a retryable error. fn must be safe to run more than once: it
// must not keep state from an aborted attempt.
func (db *DB) Run(ctx context.Context, fn func(pgx.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	if db.Cockroach {
		return crdbpgx.ExecuteTx(ctx, db.Pool, opts, fn)
	}
	return Retry(ctx, func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, db.Pool, opts, fn)
	})
}

// Retry calls attempt until it succeeds, fails with a non-retryable error,
// the context ends, or MaxAttempts is reached. Each attempt must run its own
// complete transaction.
func Retry(ctx context.Context, attempt func(context.Context) error) error {
	var err error
	for n := 0; n < MaxAttempts; n++ {
		if n > 0 {
			if werr := sleep(ctx, backoff(n)); werr != nil {
				return fmt.Errorf("txn: waiting to retry after %w: %w", err, werr)
			}
		}
		err = attempt(ctx)
		if err == nil || !Retryable(err) {
			return err
		}
	}
	return fmt.Errorf("txn: gave up after %d attempts: %w", MaxAttempts, err)
}

// Retryable reports whether err asks for the transaction to be run again:
// a serialization failure (40001) or a deadlock (40P01).
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01"
}

func backoff(attempt int) time.Duration {
	d := backoffMin << min(attempt, 8)
	d = min(d, backoffMax)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
