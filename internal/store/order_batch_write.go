package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
)

// OrderWrites gathers the writes a batch of PayOrder commands makes after
// its postings and sends them by Send in one round trip of one statement
// each, whatever the batch's size: the new orders' rows, their events, the
// commands' keys with their responses, and what other writers queue
// through Exec.
type OrderWrites struct {
	program string
	inserts [][]any  // saveOrderArgs of each new order, then customer, visitor and paid_at
	queued  []queued // Exec statements of other writers, sent last
	events  [][]any  // orderEventArgs of each event, without the program
	records struct {
		cs     []Command
		bodies [][]byte
		at     time.Time
	}
}

// queued is one statement queued by Exec.
type queued struct {
	sql  string
	args []any
}

// OrderWrites is also a ledger.Querier that only writes: Exec queues the
// statement to be sent by Send after the batch's own, in the same round
// trip (the outbox events, then the balances a posting owes, so that the
// hot balance rows are locked last); Query and QueryRow fail.
var _ ledger.Querier = (*OrderWrites)(nil)

// Exec queues sql; it answers an empty tag, the statement's outcome comes
// with Send's.
func (w *OrderWrites) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	w.queued = append(w.queued, queued{sql, args})
	return pgconn.CommandTag{}, nil
}

// errWriteOnly is the failure of a read through OrderWrites.
var errWriteOnly = errors.New("store: OrderWrites only queues writes")

// Query fails: OrderWrites only queues writes.
func (w *OrderWrites) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errWriteOnly
}

// QueryRow fails: OrderWrites only queues writes.
func (w *OrderWrites) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

// errRow is a row whose Scan fails with errWriteOnly.
type errRow struct{}

func (errRow) Scan(...any) error { return errWriteOnly }

// NewOrderWrites returns the writes of a batch of program.
func NewOrderWrites(program string) *OrderWrites { return &OrderWrites{program: program} }

// InsertOrder adds the row of o, a new order, whole: Send fails with
// OrdersTaken when its id exists by then (a concurrent payment of it).
func (w *OrderWrites) InsertOrder(o affiliate.Order) error {
	args, err := saveOrderArgs(w.program, o)
	if err == nil {
		w.inserts = append(w.inserts, append(args[1:], o.Customer, o.Visitor, o.PaidAt))
	}
	return err
}

// OrdersTaken is Send's failure when orders it was to insert exist.
type OrdersTaken struct{ IDs []string }

func (e OrdersTaken) Error() string {
	return fmt.Sprintf("store: orders %v exist", e.IDs)
}

// insertOrdersSQL is InsertOrder's statement, of columns of saveOrderArgs
// then customer, visitor and paid_at; it returns the ids it inserted.
const insertOrdersSQL = `INSERT INTO orders (program_id, id, status, lines, shipping, partner_id, attribution, click_id,
		no_earn_reason, accrued, rules_version, state, accrued_at, matures_at, matured, customer, visitor, paid_at)
	SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::numeric[], $6::text[], $7::text[], $8::bigint[],
		$9::text[], $10::bool[], $11::int[], $12::jsonb[], $13::timestamptz[], $14::timestamptz[], $15::bool[],
		$16::text[], $17::text[], $18::timestamptz[]) AS u
	ON CONFLICT DO NOTHING RETURNING id`

// InsertOrderEvent adds InsertOrderEvent of ev of order; events of one
// order take its next sequence numbers in the order they were added.
func (w *OrderWrites) InsertOrderEvent(order string, ev OrderEvent) error {
	args, err := orderEventArgs(w.program, order, ev)
	if err == nil {
		w.events = append(w.events, args[1:])
	}
	return err
}

// RecordCommands adds RecordCommands of cs with their responses: Send
// fails with ErrKeysTaken unless it records every one of them (a
// concurrent request recorded one meanwhile).
func (w *OrderWrites) RecordCommands(cs []Command, bodies [][]byte, at time.Time) {
	w.records.cs = append(w.records.cs, cs...)
	w.records.bodies = append(w.records.bodies, bodies...)
	w.records.at = at
}

// ErrKeysTaken is Send's failure when a key RecordCommands was to record
// exists by then.
var ErrKeysTaken = errors.New("store: an idempotency key was recorded concurrently")

// insertOrderEventsSQL is InsertOrderEvent's statement for many events, of
// columns of orderEventArgs: each order's events follow its last, in order.
const insertOrderEventsSQL = `INSERT INTO order_events (program_id, order_id, seq, kind, at, plan, transaction_id)
	SELECT $1, u.order_id,
		COALESCE((SELECT max(e.seq) FROM order_events e WHERE e.program_id = $1 AND e.order_id = u.order_id), 0)
			+ row_number() OVER (PARTITION BY u.order_id ORDER BY u.n),
		u.kind, u.at, u.plan, u.transaction_id
	FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::bigint[]) WITH ORDINALITY
		AS u(order_id, kind, at, plan, transaction_id, n)`

// Send runs the gathered writes in tx, in one round trip: the new orders'
// rows, their events, the keys with their responses, then what Exec
// queued, in order.
func (w *OrderWrites) Send(ctx context.Context, tx pgx.Tx) error {
	var b pgx.Batch
	var inserted []string
	if len(w.inserts) > 0 {
		b.Queue(insertOrdersSQL, append([]any{w.program}, columns(w.inserts)...)...).Query(func(rows pgx.Rows) error {
			var err error
			inserted, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	}
	if len(w.events) > 0 {
		b.Queue(insertOrderEventsSQL, append([]any{w.program}, columns(w.events)...)...)
	}
	recorded := int64(len(w.records.cs))
	if len(w.records.cs) > 0 {
		b.Queue(recordCommandsSQL, recordCommandsArgs(w.program, w.records.cs, w.records.bodies, w.records.at)...).
			Exec(func(tag pgconn.CommandTag) error { recorded = tag.RowsAffected(); return nil })
	}
	for _, q := range w.queued {
		b.Queue(q.sql, q.args...)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("store: writing %d orders' rows: %w", len(w.inserts), err)
	}
	if recorded != int64(len(w.records.cs)) {
		return ErrKeysTaken
	}
	return w.checkInserted(inserted)
}

// checkInserted fails with OrdersTaken unless every new order was inserted.
func (w *OrderWrites) checkInserted(inserted []string) error {
	if len(inserted) == len(w.inserts) {
		return nil
	}
	done := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		done[id] = true
	}
	var taken []string
	for _, row := range w.inserts {
		if id := row[0].(string); !done[id] {
			taken = append(taken, id)
		}
	}
	return OrdersTaken{IDs: taken}
}

// columns turns rows of arguments into one slice per column, for unnest.
func columns(rows [][]any) []any {
	cols := make([]any, len(rows[0]))
	for c := range cols {
		col := make([]any, len(rows))
		for r, row := range rows {
			col[r] = row[c]
		}
		cols[c] = col
	}
	return cols
}
