// Package txn runs a database transaction and restarts it whole when the
// database asks for a retry. It is the only place accrue begins a read-write
// transaction.
//
// On PostgreSQL a serialization failure (40001) or a deadlock (40P01) aborts
// the transaction: Run rolls back and runs fn again in a fresh transaction, with
// jittered exponential backoff. A savepoint-based retry (cockroach-go's
// ExecuteTx) is not used there because on PostgreSQL a savepoint keeps the old
// snapshot and the retry conflicts forever; on CockroachDB, where the savepoint
// protocol is native and cheap, Run delegates to cockroach-go's crdbpgx.ExecuteTx
// at SERIALIZABLE.
//
// ACCRUE_TXN_MODE=crdb (EnvMode) makes Run take CockroachDB's path on
// PostgreSQL, so the test suite can exercise it where no CockroachDB runs:
// SERIALIZABLE isolation and cockroach-go's retry loop (crdb.ExecuteInTx, the
// core of crdbpgx.ExecuteTx), with its savepoint protocol given CockroachDB's
// meaning (see restartTx).
//
// It also classifies the database's errors for the API: Retryable (a
// conflict between transactions, which Run retries) and Unavailable (the
// database cannot serve now: down, read-only, full, the connection lost).
package txn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	crdbpgx "github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AttemptsMax bounds how often one transaction is tried before giving up.
const AttemptsMax = 30

// Backoff bounds between attempts.
const (
	backoffMin = 2 * time.Millisecond
	backoffMax = 250 * time.Millisecond
)

// Beginner begins transactions; *pgxpool.Pool implements it.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// EnvMode names the environment variable that chooses Run's path: empty
// for the server's own, ModeCockroach for CockroachDB's path on PostgreSQL.
const EnvMode = "ACCRUE_TXN_MODE"

// ModeCockroach is the EnvMode value that makes Run take CockroachDB's path
// on PostgreSQL.
const ModeCockroach = "crdb"

// DB is a pool plus what Run needs to know about the server behind it.
type DB struct {
	Pool *pgxpool.Pool
	// Cockroach is true when the server is CockroachDB.
	Cockroach bool
	// CockroachPath makes Run take CockroachDB's path on PostgreSQL
	// (EnvMode=crdb); it has no effect on CockroachDB.
	CockroachPath bool
}

// Open wraps pool, detects the server kind and reads EnvMode; an EnvMode
// value other than empty or ModeCockroach is an error.
func Open(ctx context.Context, pool *pgxpool.Pool) (*DB, error) {
	crdbPath, err := cockroachPathFromEnv()
	if err != nil {
		return nil, err
	}
	var version string
	if err := pool.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return nil, fmt.Errorf("txn: reading server version: %w", err)
	}
	return &DB{Pool: pool, Cockroach: strings.Contains(version, "CockroachDB"), CockroachPath: crdbPath}, nil
}

func cockroachPathFromEnv() (bool, error) {
	switch mode := os.Getenv(EnvMode); mode {
	case "":
		return false, nil
	case ModeCockroach:
		return true, nil
	default:
		return false, fmt.Errorf("txn: %s=%q: want empty or %q", EnvMode, mode, ModeCockroach)
	}
}

// Run executes fn in a transaction, restarting the whole transaction on a
// retryable error: at READ COMMITTED with Retry on PostgreSQL, at
// SERIALIZABLE with cockroach-go on CockroachDB (and on PostgreSQL with
// CockroachPath). fn must be safe to run more than once: it must not keep
// state from an aborted attempt.
func (db *DB) Run(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.run(ctx, "", fn) // The session's access mode: read write.
}

// ReadOnly is Run for a read-only transaction. A read-only transaction
// needs the restarts too: on CockroachDB a read can be asked to restart
// (40001) when it meets a write within its clock uncertainty or its reads
// go stale; only a single statement outside a transaction is restarted
// by CockroachDB itself.
func (db *DB) ReadOnly(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.run(ctx, pgx.ReadOnly, fn)
}

func (db *DB) run(ctx context.Context, access pgx.TxAccessMode, fn func(pgx.Tx) error) error {
	opts := serializable
	opts.AccessMode = access
	switch {
	case db.Cockroach:
		return crdbpgx.ExecuteTx(ctx, db.Pool, opts, fn)
	case db.CockroachPath:
		return executeAsCockroach(ctx, db.Pool, opts, fn)
	}
	return Retry(ctx, func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: access}, fn)
	})
}

// Retry calls attempt until it succeeds, fails with a non-retryable error,
// the context ends, or AttemptsMax is reached. Each attempt must run its own
// complete transaction.
func Retry(ctx context.Context, attempt func(context.Context) error) error {
	var err error
	for n := 0; n < AttemptsMax; n++ {
		if n > 0 {
			if werr := Sleep(ctx, backoff(n)); werr != nil {
				return fmt.Errorf("txn: waiting to retry after %w: %w", err, werr)
			}
		}
		err = attempt(ctx)
		if err == nil || !Retryable(err) {
			return err
		}
	}
	return fmt.Errorf("txn: gave up after %d attempts: %w", AttemptsMax, err)
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

// Sleep waits d, or until ctx is done (then it returns ctx's error): the
// pause between restarts here, and between polls of the service.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
