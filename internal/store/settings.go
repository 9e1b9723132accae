package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// SettingsChange is one change of a partner's private details: when, by
// whom ("admin" or "partner"), which keys, and the details after it.
type SettingsChange struct {
	Seq     int64
	At      time.Time
	By      string
	Changed []string
	Private map[string]string
}

// InsertSettingsChange records a change of a partner's private details.
func InsertSettingsChange(ctx context.Context, q ledger.Querier, program, partner string, c SettingsChange) error {
	private, err := json.Marshal(c.Private)
	if err != nil {
		return fmt.Errorf("store: encoding private details: %w", err)
	}
	_, err = q.Exec(ctx, `INSERT INTO partner_settings_changes (program_id, partner_id, at, changed_by, changed, private)
		VALUES ($1, $2, $3, $4, $5, $6)`, program, partner, c.At, c.By, c.Changed, private)
	if err != nil {
		return fmt.Errorf("store: recording a settings change of %s: %w", partner, err)
	}
	return nil
}

// ListSettingsChanges returns a partner's changes, newest first, stored
// before the sequence number before (0: from the newest), at most limit.
func ListSettingsChanges(ctx context.Context, q ledger.Querier, program, partner string, before int64, limit int) ([]SettingsChange, error) {
	rows, err := q.Query(ctx, `SELECT seq, at, changed_by, changed, private FROM partner_settings_changes
		WHERE program_id = $1 AND partner_id = $2 AND ($3 = 0 OR seq < $3) ORDER BY seq DESC LIMIT $4`, program, partner, before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing settings changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SettingsChange, error) {
		var (
			c       SettingsChange
			private []byte
		)
		if err := r.Scan(&c.Seq, &c.At, &c.By, &c.Changed, &private); err != nil {
			return c, err
		}
		return c, json.Unmarshal(private, &c.Private)
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing settings changes: %w", err)
	}
	return out, nil
}
