package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// Payout is a row of the payouts table.
type Payout struct {
	ID, Partner               string
	Amount                    decimal.Decimal
	Status, Method, Reference string
	Advance                   bool
	Bank                      map[string]string
	CreatedAt                 time.Time
	FinishedAt                *time.Time
}

const payoutColumns = `id, partner_id, amount::text, status, method, reference, advance, bank, created_at, finished_at`

// ClaimPayout inserts the row of a new payout with status, to be filled in
// by RecordPayout (amount zero until then); claimed is false when the id
// is taken. Claiming first lets a concurrent command with the same id wait
// here for this one's outcome.
func ClaimPayout(ctx context.Context, q ledger.Querier, program, id, partner, status string, at time.Time) (claimed bool, err error) {
	tag, err := q.Exec(ctx, `INSERT INTO payouts (program_id, id, partner_id, amount, status, advance, created_at)
		VALUES ($1, $2, $3, 0, $4, false, $5) ON CONFLICT DO NOTHING`, program, id, partner, status, at)
	if err != nil {
		return false, fmt.Errorf("store: claiming payout %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordPayout fills in a claimed payout: its amount, method, reference,
// advance flag and bank details.
func RecordPayout(ctx context.Context, q ledger.Querier, program string, po Payout) error {
	bank, err := json.Marshal(po.Bank)
	if err != nil {
		return fmt.Errorf("store: payout %s bank details: %w", po.ID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE payouts SET amount = $3, method = $4, reference = $5, advance = $6, bank = $7
		WHERE program_id = $1 AND id = $2`,
		program, po.ID, po.Amount.String(), po.Method, po.Reference, po.Advance, bank); err != nil {
		return fmt.Errorf("store: recording payout %s: %w", po.ID, err)
	}
	return nil
}

// FinishPayout records how a payout ended: its status, reference and
// finished_at.
func FinishPayout(ctx context.Context, q ledger.Querier, program string, po Payout) error {
	if _, err := q.Exec(ctx, `UPDATE payouts SET status = $3, reference = $4, finished_at = $5
		WHERE program_id = $1 AND id = $2`, program, po.ID, po.Status, po.Reference, po.FinishedAt); err != nil {
		return fmt.Errorf("store: updating payout %s: %w", po.ID, err)
	}
	return nil
}

// LockPayout reads a payout FOR UPDATE; found is false when there is none.
func LockPayout(ctx context.Context, q ledger.Querier, program, id string) (po Payout, found bool, err error) {
	po, err = scanPayout(q.QueryRow(ctx, `SELECT `+payoutColumns+` FROM payouts
		WHERE program_id = $1 AND id = $2 FOR UPDATE`, program, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Payout{}, false, nil
	}
	if err != nil {
		return Payout{}, false, fmt.Errorf("store: loading payout %s: %w", id, err)
	}
	return po, true, nil
}

// PayoutFilter selects a page of payouts: one partner's (all when empty),
// after the keyset (AfterAt, AfterID) in (created_at, id) order, at most
// Limit.
type PayoutFilter struct {
	Partner string
	AfterAt time.Time
	AfterID string
	Limit   int
}

// ListPayouts returns a page of a program's payouts, oldest first, in one
// query.
func ListPayouts(ctx context.Context, q ledger.Querier, program string, f PayoutFilter) ([]Payout, error) {
	rows, err := q.Query(ctx, `SELECT `+payoutColumns+` FROM payouts
		WHERE program_id = $1 AND ($2::text = '' OR partner_id = $2) AND (created_at, id) > ($3, $4::text)
		ORDER BY created_at, id LIMIT $5`, program, f.Partner, f.AfterAt, f.AfterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing payouts: %w", err)
	}
	pos, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payout, error) { return scanPayout(r) })
	if err != nil {
		return nil, fmt.Errorf("store: listing payouts: %w", err)
	}
	return pos, nil
}

// scanPayout reads one payout row of payoutColumns; pgx.ErrNoRows passes
// through unwrapped.
func scanPayout(row pgx.Row) (Payout, error) {
	var (
		po     Payout
		amount string
		bank   []byte
	)
	if err := row.Scan(&po.ID, &po.Partner, &amount, &po.Status, &po.Method, &po.Reference, &po.Advance,
		&bank, &po.CreatedAt, &po.FinishedAt); err != nil {
		return Payout{}, err
	}
	po.Amount = decimal.RequireFromString(amount)
	if err := json.Unmarshal(bank, &po.Bank); err != nil {
		return Payout{}, fmt.Errorf("store: payout %s bank details: %w", po.ID, err)
	}
	return po, nil
}
