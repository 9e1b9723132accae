package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// InsertOrder records a newly paid order and ties its visitor to its
// customer; false, writing nothing, when the order id is recorded already.
func InsertOrder(ctx context.Context, q ledger.Querier, program string, o affiliate.Order) (bool, error) {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return false, fmt.Errorf("store: encoding order %s lines: %w", o.ID, err)
	}
	tag, err := q.Exec(ctx, `INSERT INTO orders (program_id, id, customer, visitor, status, lines, shipping, paid_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		program, o.ID, o.Customer, o.Visitor, o.Status, lines, o.Shipping.String(), o.PaidAt)
	if err != nil {
		return false, fmt.Errorf("store: recording order %s: %w", o.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	return true, TieVisitors(ctx, q, program, []affiliate.Order{o})
}

// LoadOrder reads an order, taking lock on its row; found is false when
// there is none.
func LoadOrder(ctx context.Context, q ledger.Querier, program, id string, lock Lock) (o affiliate.Order, found bool, err error) {
	o.ID = id
	var lines, state []byte
	var shipping string
	err = q.QueryRow(ctx, `SELECT customer, visitor, status, lines, shipping::text, partner_id, attribution, click_id,
			no_earn_reason, accrued, COALESCE(rules_version, 0), state, paid_at, accrued_at, matures_at, matured
		FROM orders WHERE program_id = $1 AND id = $2`+lock.clause(), program, id).
		Scan(&o.Customer, &o.Visitor, &o.Status, &lines, &shipping, &o.Partner, &o.Attribution, &o.ClickID,
			&o.NoEarn, &o.Accrued, &o.Version, &state, &o.PaidAt, &o.AccruedAt, &o.MaturesAt, &o.Matured)
	if errors.Is(err, pgx.ErrNoRows) {
		return affiliate.Order{}, false, nil
	}
	if err != nil {
		return affiliate.Order{}, false, fmt.Errorf("store: loading order %s: %w", id, err)
	}
	if o.Shipping, err = decimal.NewFromString(shipping); err != nil {
		return affiliate.Order{}, false, fmt.Errorf("store: order %s shipping: %w", id, err)
	}
	if err := json.Unmarshal(lines, &o.Lines); err != nil {
		return affiliate.Order{}, false, fmt.Errorf("store: order %s lines: %w", id, err)
	}
	if state != nil {
		o.State = &rules.OrderState{}
		if err := json.Unmarshal(state, o.State); err != nil {
			return affiliate.Order{}, false, fmt.Errorf("store: order %s state: %w", id, err)
		}
	}
	return o, true, nil
}

// SaveOrder writes an order's state back.
func SaveOrder(ctx context.Context, q ledger.Querier, program string, o affiliate.Order) error {
	args, err := saveOrderArgs(program, o)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, saveOrderSQL, args...); err != nil {
		return fmt.Errorf("store: saving order %s: %w", o.ID, err)
	}
	return nil
}

// saveOrderSQL is SaveOrder's statement, of saveOrderArgs.
const saveOrderSQL = `UPDATE orders SET status = $3, lines = $4, shipping = $5, partner_id = $6, attribution = $7,
		click_id = $8, no_earn_reason = $9, accrued = $10, rules_version = $11, state = $12, accrued_at = $13,
		matures_at = $14, matured = $15
	WHERE program_id = $1 AND id = $2`

// saveOrderArgs are saveOrderSQL's arguments for o.
func saveOrderArgs(program string, o affiliate.Order) ([]any, error) {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return nil, fmt.Errorf("store: encoding order %s lines: %w", o.ID, err)
	}
	var state []byte
	if o.State != nil {
		if state, err = json.Marshal(o.State); err != nil {
			return nil, fmt.Errorf("store: encoding order %s state: %w", o.ID, err)
		}
	}
	var version *int32
	if o.Version != 0 {
		version = &o.Version
	}
	return []any{program, o.ID, o.Status, lines, o.Shipping.String(), o.Partner, o.Attribution, o.ClickID, o.NoEarn,
		o.Accrued, version, state, o.AccruedAt, o.MaturesAt, o.Matured}, nil
}

// OrderEvent is one event of an order's history: the plan it posted, read
// under the rules version and tier it was pinned to, and the journal
// transaction that posted it (0 when the plan moved nothing).
type OrderEvent struct {
	Kind          string
	At            time.Time
	Version       int32
	Tier          string
	Plan          rules.Plan
	TransactionID int64
}

// recordedPlan is an order event's plan as stored, with what it was pinned to.
type recordedPlan struct {
	Version int32      `json:"version"`
	Tier    string     `json:"tier"`
	Plan    rules.Plan `json:"plan"`
}

// InsertOrderEvent appends ev to the history of order.
func InsertOrderEvent(ctx context.Context, q ledger.Querier, program, order string, ev OrderEvent) error {
	args, err := orderEventArgs(program, order, ev)
	if err != nil {
		return err
	}
	if _, err = q.Exec(ctx, insertOrderEventSQL, args...); err != nil {
		return fmt.Errorf("store: recording order event: %w", err)
	}
	return nil
}

// insertOrderEventSQL is InsertOrderEvent's statement, of orderEventArgs.
const insertOrderEventSQL = `INSERT INTO order_events (program_id, order_id, seq, kind, at, plan, transaction_id)
	SELECT $1, $2, COALESCE(max(seq), 0) + 1, $3, $4, $5, $6 FROM order_events WHERE program_id = $1 AND order_id = $2`

// orderEventArgs are insertOrderEventSQL's arguments for ev of order.
func orderEventArgs(program, order string, ev OrderEvent) ([]any, error) {
	body, err := json.Marshal(recordedPlan{Version: ev.Version, Tier: ev.Tier, Plan: ev.Plan})
	if err != nil {
		return nil, fmt.Errorf("store: encoding plan: %w", err)
	}
	var txID *int64
	if ev.TransactionID != 0 {
		txID = &ev.TransactionID
	}
	return []any{program, order, ev.Kind, ev.At, body, txID}, nil
}

// OrderEvents returns an order's events in order.
func OrderEvents(ctx context.Context, q ledger.Querier, program, order string) ([]OrderEvent, error) {
	rows, err := q.Query(ctx, `SELECT kind, at, plan, COALESCE(transaction_id, 0) FROM order_events
		WHERE program_id = $1 AND order_id = $2 ORDER BY seq`, program, order)
	if err != nil {
		return nil, fmt.Errorf("store: reading order events: %w", err)
	}
	defer rows.Close()
	var out []OrderEvent
	for rows.Next() {
		var (
			ev   OrderEvent
			body []byte
			rec  recordedPlan
		)
		if err := rows.Scan(&ev.Kind, &ev.At, &body, &ev.TransactionID); err != nil {
			return nil, fmt.Errorf("store: scanning order event: %w", err)
		}
		if err := json.Unmarshal(body, &rec); err != nil {
			return nil, fmt.Errorf("store: decoding order event: %w", err)
		}
		ev.Version, ev.Tier, ev.Plan = rec.Version, rec.Tier, rec.Plan
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading order events: %w", err)
	}
	return out, nil
}
