package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Event is one row of the outbox: a domain event of a program and the
// resource it reports, as the API renders it (JSON). ID is its insertion
// order; Seq its feed position, 0 until the publisher stamps it.
type Event struct {
	ID, Seq  int64
	Program  string
	Type     string
	At       time.Time
	Resource []byte
}

// AppendEvents writes events in one statement, inside the caller's
// transaction: they commit or vanish with the change they report.
func AppendEvents(ctx context.Context, q ledger.Querier, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	programs, types := make([]string, len(events)), make([]string, len(events))
	ats, resources := make([]time.Time, len(events)), make([]string, len(events))
	for i, e := range events {
		programs[i], types[i], ats[i], resources[i] = e.Program, e.Type, e.At, string(e.Resource)
	}
	_, err := q.Exec(ctx, `INSERT INTO events (program_id, type, at, resource)
		SELECT p, t, a, r FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) WITH ORDINALITY AS u(p, t, a, r, n)
		ORDER BY n`, programs, types, ats, resources)
	if err != nil {
		return fmt.Errorf("store: appending %d events: %w", len(events), err)
	}
	return nil
}

// PublishEvents stamps feed positions on up to limit committed events not
// yet stamped, in id order, after the feed's head, and returns how many it
// stamped. Run it in a transaction of its own: its first statement locks
// the head, so publishers queue and each stamps only events the one before
// it left (at READ COMMITTED the stamping statement reads after the lock;
// at SERIALIZABLE a concurrent publisher is retried). An event that
// commits after a run gets a position after every event that run stamped,
// so a consumer that read up to a position never misses it.
func PublishEvents(ctx context.Context, tx pgx.Tx, limit int) (int, error) {
	var head int64
	if err := tx.QueryRow(ctx, `SELECT seq FROM event_feed FOR UPDATE`).Scan(&head); err != nil {
		return 0, fmt.Errorf("store: locking the event feed: %w", err)
	}
	tag, err := tx.Exec(ctx, `UPDATE events e SET seq = $1 + o.n
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events WHERE seq IS NULL ORDER BY id LIMIT $2) o
		WHERE e.id = o.id AND e.seq IS NULL`, head, limit)
	if err != nil {
		return 0, fmt.Errorf("store: stamping events: %w", err)
	}
	n := tag.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE event_feed SET seq = $1`, head+n); err != nil {
		return 0, fmt.Errorf("store: moving the event feed head: %w", err)
	}
	return int(n), nil
}

// EventFilter selects a program's events after a feed position, of the
// given types (all when empty).
type EventFilter struct {
	Program string
	After   int64
	Types   []string
}

// ListEvents reads up to limit published events of f in feed order.
func ListEvents(ctx context.Context, q ledger.Querier, f EventFilter, limit int) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, seq, program_id, type, at, resource FROM events
		WHERE program_id = $1 AND seq > $2 AND seq IS NOT NULL AND (COALESCE(cardinality($3::text[]), 0) = 0 OR type = ANY($3::text[]))
		ORDER BY seq LIMIT $4`, f.Program, f.After, f.Types, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing events: %w", err)
	}
	return scanEvents(rows)
}

func scanEvents(rows pgx.Rows) ([]Event, error) {
	var out []Event
	var e Event
	var resource string
	_, err := pgx.ForEachRow(rows, []any{&e.ID, &e.Seq, &e.Program, &e.Type, &e.At, &resource}, func() error {
		e.Resource = []byte(resource)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading events: %w", err)
	}
	return out, nil
}

// OutboxBacklog is what the publisher has not stamped yet: how many events
// and the time of the oldest (zero when none).
func OutboxBacklog(ctx context.Context, q ledger.Querier) (int64, time.Time, error) {
	var n int64
	var oldest *time.Time
	err := q.QueryRow(ctx, `SELECT count(*), min(at) FROM events WHERE seq IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: reading the outbox backlog: %w", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, *oldest, nil
}
