package txn

import (
	"context"
	"errors"
	"regexp"

	"github.com/cockroachdb/cockroach-go/v2/crdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// serializable is the isolation of CockroachDB's path: CockroachDB's
// default, the one every CockroachDB cluster runs (READ COMMITTED needs a
// cluster setting), and the one under which its FOR SHARE needs no lock.
var serializable = pgx.TxOptions{IsoLevel: pgx.Serializable}

// The statements of cockroach-go's client-side retry protocol
// (crdb.ExecuteInTx).
const (
	savepointRestart = "SAVEPOINT cockroach_restart"
	releaseRestart   = "RELEASE SAVEPOINT cockroach_restart"
	rollbackRestart  = "ROLLBACK TO SAVEPOINT cockroach_restart"
)

// executeAsCockroach runs fn the way crdbpgx.ExecuteTx does on CockroachDB
// — a SERIALIZABLE transaction driven by cockroach-go's crdb.ExecuteInTx,
// retried on 40001 up to its retry limit, FOR SHARE taking no lock — but on
// PostgreSQL, through restartTx and shareLockless.
func executeAsCockroach(ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	rtx := &restartTx{db: db, opts: opts, tx: tx}
	return crdb.ExecuteInTx(ctx, rtx, func() error {
		return deadlockAsRestart(fn(shareLockless{rtx.tx}))
	})
}

// forShare matches a FOR SHARE locking clause.
var forShare = regexp.MustCompile(`(?i)\s+FOR\s+SHARE\b`)

// shareLockless is a transaction whose statements lose their FOR SHARE
// clauses. At SERIALIZABLE CockroachDB takes no shared locks unless the
// session sets enable_shared_locking_for_serializable (and its locks there
// are best effort: serializability does not rely on them); PostgreSQL would
// take them. Without them the suite checks that correctness does not rest
// on those locks.
type shareLockless struct{ pgx.Tx }

func (t shareLockless) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return shareLockless{tx}, nil
}

func (t shareLockless) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, forShare.ReplaceAllString(sql, ""), args...)
}

func (t shareLockless) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, forShare.ReplaceAllString(sql, ""), args...)
}

func (t shareLockless) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, forShare.ReplaceAllString(sql, ""), args...)
}

func (t shareLockless) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.Tx.Prepare(ctx, name, forShare.ReplaceAllString(sql, ""))
}

func (t shareLockless) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		q.SQL = forShare.ReplaceAllString(q.SQL, "")
	}
	return t.Tx.SendBatch(ctx, b)
}

// restartTx is a crdb.Tx that gives cockroach-go's savepoint protocol on
// PostgreSQL the meaning it has on CockroachDB. There, RELEASE SAVEPOINT
// cockroach_restart commits (cockroach-go ignores the COMMIT after it) and
// ROLLBACK TO SAVEPOINT cockroach_restart restarts the transaction at a new
// timestamp. On PostgreSQL, RELEASE would only end the savepoint, so a
// serialization failure at COMMIT would be swallowed and the write lost,
// and ROLLBACK TO keeps the transaction's snapshot (and SSI's verdict that
// it is doomed), so every retry fails again. restartTx therefore commits at
// RELEASE and rolls back and begins a fresh transaction at ROLLBACK TO;
// every other statement goes to the current transaction as is.
//
// A restart waits Run's jittered backoff first. CockroachDB queues a
// writer behind the intent it meets and restarts it only when its reads
// went stale; PostgreSQL at SERIALIZABLE fails every writer that waited on
// a row another transaction changed, so without the wait writers to a hot
// row restart each other more than cockroach-go's 50 times.
type restartTx struct {
	db       Beginner
	opts     pgx.TxOptions
	tx       pgx.Tx
	restarts int
}

// Exec runs q in the current transaction, translating the restart
// protocol's RELEASE and ROLLBACK TO.
func (r *restartTx) Exec(ctx context.Context, q string, args ...any) error {
	switch q {
	case releaseRestart:
		if _, err := r.tx.Exec(ctx, q); err != nil {
			return err
		}
		return r.tx.Commit(ctx)
	case rollbackRestart:
		_ = r.tx.Rollback(ctx) // The attempt's error is the one that counts.
		r.restarts++
		if err := Sleep(ctx, backoff(r.restarts)); err != nil {
			return err
		}
		tx, err := r.db.BeginTx(ctx, r.opts)
		if err != nil {
			return err
		}
		r.tx = tx
		_, err = tx.Exec(ctx, savepointRestart)
		return err
	}
	_, err := r.tx.Exec(ctx, q, args...)
	return err
}

// Commit commits the current transaction; after RELEASE it is already
// committed and the error (which cockroach-go ignores) says so.
func (r *restartTx) Commit(ctx context.Context) error { return r.tx.Commit(ctx) }

// Rollback rolls the current transaction back.
func (r *restartTx) Rollback(ctx context.Context) error { return r.tx.Rollback(ctx) }

// restartError presents a PostgreSQL deadlock (40P01) as the
// serialization failure (40001) CockroachDB reports when it breaks a
// deadlock by aborting one of its transactions, so cockroach-go restarts
// it.
type restartError struct{ err error }

func (e restartError) Error() string    { return e.err.Error() }
func (e restartError) Unwrap() error    { return e.err }
func (e restartError) SQLState() string { return "40001" }

func deadlockAsRestart(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
		return restartError{err}
	}
	return err
}
