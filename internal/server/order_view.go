package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
)

// GetOrder returns an order with its full history: every event's plan and
// every journal transaction of the order.
func (s *orderService) GetOrder(ctx context.Context, req *connect.Request[accruev1.GetOrderRequest]) (*connect.Response[accruev1.GetOrderResponse], error) {
	var view *accruev1.Order
	err := s.db.ReadOnly(ctx, func(tx pgx.Tx) error {
		lp, err := ledger.LoadProgram(ctx, tx, req.Msg.GetProgram())
		if err != nil {
			return err
		}
		o, err := loadOrderReadOnly(ctx, tx, lp.ID, req.Msg.GetOrder())
		if err != nil {
			return err
		}
		view, err = s.orderView(ctx, tx, lp, o, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetOrderResponse{Order: view}), nil
}

// orderView renders an order; with history, every event's plan and every
// journal transaction of the order.
func (s *Server) orderView(ctx context.Context, q querier, lp *ledger.Program, o *order, history bool) (*accruev1.Order, error) {
	program := lp.ID
	out := &accruev1.Order{
		Id: o.ID, Customer: o.Customer, Visitor: o.Visitor, Shipping: o.Shipping.StringFixed(lp.Scale),
		Partner: o.Partner, Attribution: o.Attribution, NoEarnReason: o.NoEarn, Accrued: o.Accrued,
		RulesVersion: o.Version, PaidAt: stamp(o.PaidAt),
		Status: map[string]accruev1.OrderStatus{statusPaid: accruev1.OrderStatus_ORDER_STATUS_PAID,
			statusCompleted: accruev1.OrderStatus_ORDER_STATUS_COMPLETED, statusCancelled: accruev1.OrderStatus_ORDER_STATUS_CANCELLED}[o.Status],
	}
	if o.ClickID != nil {
		out.ClickId = *o.ClickID
	}
	if o.AccruedAt != nil {
		out.AccruedAt = stamp(*o.AccruedAt)
	}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, &accruev1.OrderLine{Product: l.Product, Amount: l.Amount.StringFixed(lp.Scale)})
	}
	if o.State != nil {
		out.Tier = o.State.Tier
		for _, lv := range o.State.Upline {
			out.Upline = append(out.Upline, lv.Partner)
		}
	}
	if !history {
		return out, nil
	}
	events, err := s.orderEvents(ctx, q, program, o.ID)
	if err != nil {
		return nil, err
	}
	out.Events = events
	ts, err := ledger.ListTransactions(ctx, q, program, ledger.TransactionFilter{Order: o.ID, Limit: ledger.MaxPageSize})
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out.Transactions = append(out.Transactions, transactionToProto(t, lp.Scale))
	}
	return out, nil
}

// orderEvents returns an order's events in order, each with the plan it
// posted read under the rules version it was pinned to.
func (s *Server) orderEvents(ctx context.Context, q querier, program, orderID string) ([]*accruev1.OrderEvent, error) {
	rows, err := q.Query(ctx, `SELECT kind, at, plan, COALESCE(transaction_id, 0) FROM order_events
		WHERE program_id = $1 AND order_id = $2 ORDER BY seq`, program, orderID)
	if err != nil {
		return nil, fmt.Errorf("server: reading order events: %w", err)
	}
	type row struct {
		kind string
		at   time.Time
		body []byte
		txID int64
	}
	var raw []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.kind, &r.at, &r.body, &r.txID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("server: scanning order event: %w", err)
		}
		raw = append(raw, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server: reading order events: %w", err)
	}
	var out []*accruev1.OrderEvent
	for _, r := range raw {
		var rec recordedPlan
		if err := json.Unmarshal(r.body, &rec); err != nil {
			return nil, fmt.Errorf("server: decoding order event: %w", err)
		}
		prog, err := s.rulesVersion(ctx, q, program, rec.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, &accruev1.OrderEvent{Kind: r.kind, At: stamp(r.at), TransactionId: r.txID,
			Plan: planToProto(rec.Plan, prog, rec.Version, rec.Tier)})
	}
	return out, nil
}
