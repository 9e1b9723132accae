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

// BatchSender sends a pgx.Batch: a transaction, or a pool or connection
// (the batch is then one implicit transaction).
type BatchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Query queues sql with args; scan reads its rows when they arrive.
func (p *Pipeline) Query(sql string, args []any, scan func(pgx.Rows) error) {
	p.batch.Queue(sql, args...).Query(scan)
}

// Exec queues a statement whose rows are not read.
func (p *Pipeline) Exec(sql string, args ...any) {
	p.batch.Queue(sql, args...)
}

// GenericPlansSQL makes the statements after it in its transaction run on
// their generic plans, planned once per connection, instead of a custom
// plan planned at each execution, and keeps those plans off sequential
// scans. PostgreSQL otherwise plans anew every statement that reads a
// parameter array of unnest, whose custom plans it estimates cheaper for
// the arrays' exact lengths: planning was a fifth of PostgreSQL's time
// in a run of orders and a quarter in a run of clicks. A generic plan
// lives as long as its connection (or the table's next ANALYZE), so one
// made while a table was a page would scan it however it grew: with
// sequential scans off, every statement probes its index by key whatever
// the statistics. Only statements whose generic plans are checked (plan
// tests) may follow it; CockroachDB has no such settings.
const GenericPlansSQL = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)"

// GenericPlans queues GenericPlansSQL.
func (p *Pipeline) GenericPlans() {
	p.batch.Queue(GenericPlansSQL)
}

// Send sends the queued statements with s in one round trip and reads
// their results; it returns the first failure.
func (p *Pipeline) Send(ctx context.Context, s BatchSender) error {
	if p.batch.Len() == 0 {
		return nil
	}
	return s.SendBatch(ctx, &p.batch).Close()
}
