package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// Spend is a row of the spends table: store credit a partner spent.
type Spend struct {
	ID, Partner, Order       string
	Amount                   decimal.Decimal
	FromPayable, FromAccrued decimal.Decimal
	Reversed                 bool
	At                       time.Time
}

// ClaimSpend inserts the row of a new spend, to be completed by
// RecordSpendSplit (nothing drawn from either account until then); claimed
// is false when the id is taken. Claiming first lets a concurrent command
// with the same id wait here for this one's outcome.
func ClaimSpend(ctx context.Context, q ledger.Querier, program string, sp Spend) (claimed bool, err error) {
	tag, err := q.Exec(ctx, `INSERT INTO spends (program_id, id, partner_id, amount, order_id, from_payable, from_accrued, at)
		VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT DO NOTHING`,
		program, sp.ID, sp.Partner, sp.Amount.String(), sp.Order, sp.At)
	if err != nil {
		return false, fmt.Errorf("store: claiming spend %s: %w", sp.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordSpendSplit records what a claimed spend drew from payable and
// from accrued.
func RecordSpendSplit(ctx context.Context, q ledger.Querier, program string, sp Spend) error {
	if _, err := q.Exec(ctx, `UPDATE spends SET from_payable = $3, from_accrued = $4 WHERE program_id = $1 AND id = $2`,
		program, sp.ID, sp.FromPayable.String(), sp.FromAccrued.String()); err != nil {
		return fmt.Errorf("store: recording spend %s: %w", sp.ID, err)
	}
	return nil
}

// MarkSpendReversed records that a spend was reversed.
func MarkSpendReversed(ctx context.Context, q ledger.Querier, program, id string) error {
	if _, err := q.Exec(ctx, `UPDATE spends SET reversed = true WHERE program_id = $1 AND id = $2`, program, id); err != nil {
		return fmt.Errorf("store: updating spend %s: %w", id, err)
	}
	return nil
}

// LockSpend reads a spend FOR UPDATE; found is false when there is none.
func LockSpend(ctx context.Context, q ledger.Querier, program, id string) (sp Spend, found bool, err error) {
	var amount, fromPay, fromAcc string
	err = q.QueryRow(ctx, `SELECT id, partner_id, order_id, amount::text, from_payable::text, from_accrued::text, reversed, at
		FROM spends WHERE program_id = $1 AND id = $2 FOR UPDATE`, program, id).
		Scan(&sp.ID, &sp.Partner, &sp.Order, &amount, &fromPay, &fromAcc, &sp.Reversed, &sp.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return Spend{}, false, nil
	}
	if err != nil {
		return Spend{}, false, fmt.Errorf("store: loading spend %s: %w", id, err)
	}
	sp.Amount, sp.FromPayable, sp.FromAccrued = decimal.RequireFromString(amount),
		decimal.RequireFromString(fromPay), decimal.RequireFromString(fromAcc)
	return sp, true, nil
}
