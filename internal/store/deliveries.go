package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event to send to one endpoint, with its attempts when
// read for the log.
type Delivery struct {
	ID, Seq     int64
	Endpoint    string
	Event       Event
	Status      string
	Attempts    int
	NextAttempt time.Time
	Created     time.Time
	Manual      bool
	Log         []Attempt
}

// Attempt is one try of a delivery: the HTTP status answered (0 when none
// was) or the error, and the delivery's state after it.
type Attempt struct {
	Delivery    int64
	N           int
	At          time.Time
	StatusCode  int
	Error       string
	Status      string    // the delivery's state after the attempt
	NextAttempt time.Time // when pending: the next try
}

// FanOut queues, in one statement, a delivery for each published event
// past each enabled endpoint's position that the endpoint subscribes to,
// at most perEndpoint events each, and moves the positions past them.
// The caller holds the delivery lease, so fan-outs do not overlap.
func FanOut(ctx context.Context, q ledger.Querier, now time.Time, perEndpoint int) (int64, error) {
	// Each endpoint's events are read through events_feed, a range of its
	// program's feed: the cost follows what is fanned out, not the size of
	// the events table (a join the planner may hash scans all of it).
	tag, err := q.Exec(ctx, `WITH h AS (SELECT seq FROM event_feed),
		ins AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, status, next_attempt_at, created_at)
			SELECT w.id, e.id, e.seq, 'pending', $1, $1
			FROM webhook_endpoints w CROSS JOIN h CROSS JOIN LATERAL (
				SELECT e.id, e.seq, e.type FROM events e
				WHERE e.program_id = w.program_id AND e.seq IS NOT NULL AND e.seq > w.position
					AND e.seq <= LEAST(h.seq, w.position + $2)
				ORDER BY e.seq) e
			WHERE NOT w.disabled AND w.position < h.seq
				AND (cardinality(w.types) = 0 OR e.type = ANY(w.types))
			ORDER BY w.id, e.seq
			RETURNING 1)
		UPDATE webhook_endpoints w SET position = LEAST(h.seq, w.position + $2)
		FROM h WHERE NOT w.disabled AND w.position < h.seq`, now, perEndpoint)
	if err != nil {
		return 0, fmt.Errorf("store: fanning events out to webhooks: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DueDeliveries reads, for each enabled endpoint whose first pending
// delivery is due at now, its first perEndpoint pending deliveries in feed
// order with their events; the endpoint comes with them (URL and secret).
// At most endpoints endpoints. Each endpoint's queue is read through its
// index, so a long backlog costs nothing until its turn.
func DueDeliveries(ctx context.Context, q ledger.Querier, now time.Time, perEndpoint, endpoints int) ([]Delivery, map[string]Endpoint, error) {
	rows, err := q.Query(ctx, `WITH heads AS (
			SELECT w.id, w.url, w.secret FROM webhook_endpoints w
			CROSS JOIN LATERAL (SELECT next_attempt_at FROM webhook_deliveries
				WHERE endpoint_id = w.id AND status = 'pending' ORDER BY seq, id LIMIT 1) h
			WHERE NOT w.disabled AND h.next_attempt_at <= $1 ORDER BY w.id LIMIT $3)
		SELECT d.id, d.seq, w.id, d.attempts, d.next_attempt_at, d.created_at, d.manual,
			e.id, e.seq, e.program_id, e.type, e.at, e.resource, w.url, w.secret
		FROM heads w
		CROSS JOIN LATERAL (SELECT id, seq, event_id, attempts, next_attempt_at, created_at, manual FROM webhook_deliveries
			WHERE endpoint_id = w.id AND status = 'pending' ORDER BY seq, id LIMIT $2) d
		JOIN events e ON e.id = d.event_id
		ORDER BY w.id, d.seq, d.id`, now, perEndpoint, endpoints)
	if err != nil {
		return nil, nil, fmt.Errorf("store: reading due deliveries: %w", err)
	}
	var out []Delivery
	ends := map[string]Endpoint{}
	var d Delivery
	var w Endpoint
	var resource string
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.Seq, &d.Endpoint, &d.Attempts, &d.NextAttempt, &d.Created, &d.Manual,
		&d.Event.ID, &d.Event.Seq, &d.Event.Program, &d.Event.Type, &d.Event.At, &resource, &w.URL, &w.Secret}, func() error {
		d.Status, d.Event.Resource = DeliveryPending, []byte(resource)
		w.ID, w.Program = d.Endpoint, d.Event.Program
		out, ends[d.Endpoint] = append(out, d), w
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: reading due deliveries: %w", err)
	}
	return out, ends, nil
}

// RecordAttempts writes attempts and the states they leave their
// deliveries in, in one statement. A delivery no longer pending (a
// concurrent run finished it) keeps its state.
func RecordAttempts(ctx context.Context, q ledger.Querier, attempts []Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	n := len(attempts)
	ids, ns, ats, codes := make([]int64, n), make([]int32, n), make([]time.Time, n), make([]int32, n)
	errs, states, next := make([]string, n), make([]string, n), make([]time.Time, n)
	for i, a := range attempts {
		ids[i], ns[i], ats[i], codes[i] = a.Delivery, int32(a.N), a.At, int32(a.StatusCode)
		errs[i], states[i], next[i] = a.Error, a.Status, a.NextAttempt
	}
	_, err := q.Exec(ctx, `WITH u AS (
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::int[], $5::text[], $6::text[], $7::timestamptz[])
				AS u(id, n, at, code, err, status, next)),
		ins AS (INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error)
			SELECT id, n, at, code, err FROM u ON CONFLICT DO NOTHING RETURNING 1)
		UPDATE webhook_deliveries d SET attempts = u.n, status = u.status, next_attempt_at = u.next
		FROM u WHERE d.id = u.id AND d.status = 'pending'`, ids, ns, ats, codes, errs, states, next)
	if err != nil {
		return fmt.Errorf("store: recording %d delivery attempts: %w", n, err)
	}
	return nil
}

// ListDeliveries reads up to limit deliveries of an endpoint after id
// `after`, in id order, each with its
// attempts (two queries for the page).
func ListDeliveries(ctx context.Context, q ledger.Querier, endpoint string, after int64, limit int) ([]Delivery, error) {
	rows, err := q.Query(ctx, `SELECT d.id, d.seq, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.created_at, d.manual,
			e.id, e.seq, e.program_id, e.type, e.at
		FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.endpoint_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3`, endpoint, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing deliveries: %w", err)
	}
	var out []Delivery
	var d Delivery
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.Seq, &d.Endpoint, &d.Status, &d.Attempts, &d.NextAttempt, &d.Created, &d.Manual,
		&d.Event.ID, &d.Event.Seq, &d.Event.Program, &d.Event.Type, &d.Event.At}, func() error { out = append(out, d); return nil })
	if err != nil {
		return nil, fmt.Errorf("store: listing deliveries: %w", err)
	}
	return out, attachAttempts(ctx, q, out)
}

// attachAttempts reads the attempts of deliveries in one query.
func attachAttempts(ctx context.Context, q ledger.Querier, deliveries []Delivery) error {
	ids := make([]int64, len(deliveries))
	at := make(map[int64]int, len(deliveries))
	for i, d := range deliveries {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err := q.Query(ctx, `SELECT delivery_id, n, at, status_code, error FROM webhook_attempts
		WHERE delivery_id = ANY($1) ORDER BY delivery_id, n`, ids)
	if err != nil {
		return fmt.Errorf("store: reading delivery attempts: %w", err)
	}
	var a Attempt
	_, err = pgx.ForEachRow(rows, []any{&a.Delivery, &a.N, &a.At, &a.StatusCode, &a.Error}, func() error {
		d := &deliveries[at[a.Delivery]]
		d.Log = append(d.Log, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: reading delivery attempts: %w", err)
	}
	return nil
}

// Redeliver queues one more delivery of a published event of the
// endpoint's program; found false when the endpoint or the event is not
// there.
func Redeliver(ctx context.Context, q ledger.Querier, program, endpoint string, event int64, now time.Time) (int64, bool, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, status, next_attempt_at, created_at, manual)
		SELECT w.id, e.id, e.seq, 'pending', $4, $4, true FROM webhook_endpoints w
		JOIN events e ON e.program_id = w.program_id AND e.id = $3 AND e.seq IS NOT NULL
		WHERE w.program_id = $1 AND w.id = $2 RETURNING id`, program, endpoint, event, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: redelivering event %d to %s: %w", event, endpoint, err)
	}
	return id, true, nil
}

// ClaimWebhookLease takes or renews the delivery worker's lease for holder
// until ttl from the database's clock; false when another holder has it.
func ClaimWebhookLease(ctx context.Context, q ledger.Querier, holder string, ttl time.Duration) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE webhook_lease SET holder = $1, expires_at = now() + $2::INT8 * INTERVAL '1 millisecond'
		WHERE holder = $1 OR expires_at < now()`, holder, ttl.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("store: claiming the webhook lease: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseWebhookLease gives the lease up if holder has it.
func ReleaseWebhookLease(ctx context.Context, q ledger.Querier, holder string) error {
	_, err := q.Exec(ctx, `UPDATE webhook_lease SET expires_at = now() - INTERVAL '1 second' WHERE holder = $1`, holder)
	if err != nil {
		return fmt.Errorf("store: releasing the webhook lease: %w", err)
	}
	return nil
}

// WebhookFailures counts deliveries marked failed (every retry spent).
func WebhookFailures(ctx context.Context, q ledger.Querier) (int64, error) {
	var n int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = 'failed'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting failed deliveries: %w", err)
	}
	return n, nil
}

// DeliveryBacklog counts the deliveries waiting (first try or retry) and
// gives the time of the oldest one's event (zero when none wait); it reads
// the pending queue's partial index.
func DeliveryBacklog(ctx context.Context, q ledger.Querier) (int64, time.Time, error) {
	var n int64
	var oldest *time.Time
	err := q.QueryRow(ctx, `SELECT count(*), min(e.at) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'pending'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: reading the delivery backlog: %w", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, *oldest, nil
}
