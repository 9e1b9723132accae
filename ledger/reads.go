package ledger

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Reads is a round trip of statements that do not depend on each other's
// results: each is queued with the function that reads its rows, and Send
// sends them all at once (a pgx.Batch), calling the functions in order as
// the results arrive. A statement that fails fails Send, and the
// statements after it in the transaction do not run.
type Reads struct{ batch pgx.Batch }

// Query queues sql with args; scan reads its rows when they arrive.
func (r *Reads) Query(sql string, args []any, scan func(pgx.Rows) error) {
	r.batch.Queue(sql, args...).Query(scan)
}

// Exec queues a statement whose rows are not read.
func (r *Reads) Exec(sql string, args ...any) {
	r.batch.Queue(sql, args...)
}

// Len is the number of statements queued.
func (r *Reads) Len() int { return r.batch.Len() }

// Send sends the queued statements in tx in one round trip and reads
// their results; it returns the first failure.
func (r *Reads) Send(ctx context.Context, tx pgx.Tx) error {
	if r.batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &r.batch).Close()
}
