package ledger

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Pipeline is a round trip of statements that do not depend on each other's
// results: each is queued with the function that reads its rows, and Send
// sends them all at once (a pgx.Batch), calling the functions in order as
// the results arrive. A statement that fails fails Send, and the
// statements after it in the transaction do not run.
type Pipeline struct{ batch pgx.Batch }

// Query queues sql with args; scan reads its rows when they arrive.
func (p *Pipeline) Query(sql string, args []any, scan func(pgx.Rows) error) {
	p.batch.Queue(sql, args...).Query(scan)
}

// Exec queues a statement whose rows are not read.
func (p *Pipeline) Exec(sql string, args ...any) {
	p.batch.Queue(sql, args...)
}

// Send sends the queued statements in tx in one round trip and reads
// their results; it returns the first failure.
func (p *Pipeline) Send(ctx context.Context, tx pgx.Tx) error {
	if p.batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &p.batch).Close()
}
