package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Endpoint is a webhook endpoint: where a program's events of Types (all
// when empty) are sent, signed with Secret. Position is the last feed
// position fanned out into its deliveries.
type Endpoint struct {
	ID, Program, URL, Description string
	Types                         []string
	Secret                        []byte
	Disabled                      bool
	Position                      int64
	Created, Updated              time.Time
}

const endpointColumns = `id, program_id, url, description, types, secret, disabled, position, created_at, updated_at`

func endpointFields(e *Endpoint) []any {
	return []any{&e.ID, &e.Program, &e.URL, &e.Description, &e.Types, &e.Secret, &e.Disabled, &e.Position, &e.Created, &e.Updated}
}

// InsertEndpoint creates e; its position is the feed's head, so it gets
// the events published from now on.
func InsertEndpoint(ctx context.Context, q ledger.Querier, e Endpoint) (Endpoint, error) {
	err := q.QueryRow(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, seq, $8, $8 FROM event_feed RETURNING `+endpointColumns,
		e.ID, e.Program, e.URL, e.Description, e.Types, e.Secret, e.Disabled, e.Created).Scan(endpointFields(&e)...)
	if err != nil {
		return Endpoint{}, fmt.Errorf("store: creating webhook %s: %w", e.ID, err)
	}
	return e, nil
}

// LoadEndpoint reads one endpoint of program taking lock; found false when
// absent.
func LoadEndpoint(ctx context.Context, q ledger.Querier, program, id string, lock Lock) (Endpoint, bool, error) {
	var e Endpoint
	err := q.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE program_id = $1 AND id = $2`+lock.clause(),
		program, id).Scan(endpointFields(&e)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, false, nil
	}
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("store: reading webhook %s: %w", id, err)
	}
	return e, true, nil
}

// ListEndpoints reads up to limit endpoints of program after id `after`.
func ListEndpoints(ctx context.Context, q ledger.Querier, program, after string, limit int) ([]Endpoint, error) {
	rows, err := q.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE program_id = $1 AND id > $2 ORDER BY id LIMIT $3`, program, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing webhooks: %w", err)
	}
	var out []Endpoint
	var e Endpoint
	_, err = pgx.ForEachRow(rows, endpointFields(&e), func() error { out = append(out, e); return nil })
	if err != nil {
		return nil, fmt.Errorf("store: listing webhooks: %w", err)
	}
	return out, nil
}

// SaveEndpoint writes e's url, description, types and disabled flag.
func SaveEndpoint(ctx context.Context, q ledger.Querier, e Endpoint) error {
	_, err := q.Exec(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, types = $5, disabled = $6, updated_at = $7
		WHERE program_id = $1 AND id = $2`, e.Program, e.ID, e.URL, e.Description, e.Types, e.Disabled, e.Updated)
	if err != nil {
		return fmt.Errorf("store: updating webhook %s: %w", e.ID, err)
	}
	return nil
}

// DeleteEndpoint removes an endpoint with its deliveries and their
// attempts; false when it was absent.
func DeleteEndpoint(ctx context.Context, q ledger.Querier, program, id string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM webhook_endpoints WHERE program_id = $1 AND id = $2`, program, id)
	if err != nil {
		return false, fmt.Errorf("store: deleting webhook %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}
