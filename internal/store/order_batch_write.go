package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
)

// OrderWrites queues the writes a batch of order commands makes after its
// postings, sent in one round trip by Send: each order's row as the
// command left it, its events, and the commands' responses.
type OrderWrites struct {
	program string
	batch   pgx.Batch
}

// NewOrderWrites returns the writes of a batch of program.
func NewOrderWrites(program string) *OrderWrites { return &OrderWrites{program: program} }

// SaveOrder queues SaveOrder of o.
func (w *OrderWrites) SaveOrder(o affiliate.Order) error {
	args, err := saveOrderArgs(w.program, o)
	if err == nil {
		w.batch.Queue(saveOrderSQL, args...)
	}
	return err
}

// InsertOrderEvent queues InsertOrderEvent of ev of order.
func (w *OrderWrites) InsertOrderEvent(order string, ev OrderEvent) error {
	args, err := orderEventArgs(w.program, order, ev)
	if err == nil {
		w.batch.Queue(insertOrderEventSQL, args...)
	}
	return err
}

// SetCommandResponses queues SetCommandResponses of keys and bodies.
func (w *OrderWrites) SetCommandResponses(keys []string, bodies [][]byte) {
	if len(keys) > 0 {
		w.batch.Queue(setCommandResponsesSQL, w.program, keys, bodies)
	}
}

// Send runs the queued writes in tx, in one round trip.
func (w *OrderWrites) Send(ctx context.Context, tx pgx.Tx) error {
	if w.batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &w.batch).Close(); err != nil {
		return fmt.Errorf("store: writing %d orders' rows: %w", w.batch.Len(), err)
	}
	return nil
}
