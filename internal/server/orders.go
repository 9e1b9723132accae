package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// orderService serves accrue.v1.OrderService.
type orderService struct{ *Server }

// MaxRefLen bounds order and customer ids.
const MaxRefLen = 128

// Order statuses.
const (
	statusPaid      = "paid"
	statusCompleted = "completed"
	statusCancelled = "cancelled"
)

// Reasons an attributed order earns nothing.
const (
	reasonSelfReferral = "self_referral"
	reasonSuspended    = "partner_suspended"
)

// order is a row of the orders table.
type order struct {
	ID          string
	Customer    string
	Visitor     string
	Status      string
	Lines       []rules.Line
	Shipping    decimal.Decimal
	Partner     string
	Attribution string
	ClickID     *int64
	NoEarn      string
	Accrued     bool
	Version     int32
	State       *rules.OrderState
	PaidAt      time.Time
	AccruedAt   *time.Time
	MaturesAt   *time.Time
	Matured     bool
}

// earns reports whether the order is attributed to a partner who may earn on it.
func (o *order) earns() bool { return o.Partner != "" && o.NoEarn == "" }

func checkRef(field, v string) error {
	if v == "" || len(v) > MaxRefLen {
		return fault.Invalid(field, "required, at most %d characters", MaxRefLen)
	}
	return nil
}

// loadOrder reads and locks an order; fault NotFound when absent.
func loadOrder(ctx context.Context, tx pgx.Tx, program, id string) (*order, error) {
	return readOrder(ctx, tx, program, id, " FOR UPDATE")
}

// loadOrderReadOnly reads an order without locking it.
func loadOrderReadOnly(ctx context.Context, tx pgx.Tx, program, id string) (*order, error) {
	return readOrder(ctx, tx, program, id, "")
}

func readOrder(ctx context.Context, tx pgx.Tx, program, id, lock string) (*order, error) {
	o := &order{ID: id}
	var lines, state []byte
	var shipping string
	err := tx.QueryRow(ctx, `SELECT customer, visitor, status, lines, shipping::text, partner_id, attribution, click_id,
			no_earn_reason, accrued, COALESCE(rules_version, 0), state, paid_at, accrued_at, matures_at, matured
		FROM orders WHERE program_id = $1 AND id = $2`+lock, program, id).
		Scan(&o.Customer, &o.Visitor, &o.Status, &lines, &shipping, &o.Partner, &o.Attribution, &o.ClickID,
			&o.NoEarn, &o.Accrued, &o.Version, &state, &o.PaidAt, &o.AccruedAt, &o.MaturesAt, &o.Matured)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Missing("order", "no order %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("server: loading order %s: %w", id, err)
	}
	o.Shipping = decimal.RequireFromString(shipping)
	if err := json.Unmarshal(lines, &o.Lines); err != nil {
		return nil, fmt.Errorf("server: order %s lines: %w", id, err)
	}
	if state != nil {
		o.State = &rules.OrderState{}
		if err := json.Unmarshal(state, o.State); err != nil {
			return nil, fmt.Errorf("server: order %s state: %w", id, err)
		}
	}
	return o, nil
}

func saveOrder(ctx context.Context, tx pgx.Tx, program string, o *order) error {
	lines, _ := json.Marshal(o.Lines)
	var state []byte
	if o.State != nil {
		state, _ = json.Marshal(o.State)
	}
	var version *int32
	if o.Version != 0 {
		version = &o.Version
	}
	_, err := tx.Exec(ctx, `UPDATE orders SET status = $3, lines = $4, shipping = $5, partner_id = $6, attribution = $7,
			click_id = $8, no_earn_reason = $9, accrued = $10, rules_version = $11, state = $12, accrued_at = $13,
			matures_at = $14, matured = $15
		WHERE program_id = $1 AND id = $2`,
		program, o.ID, o.Status, lines, o.Shipping.String(), o.Partner, o.Attribution, o.ClickID, o.NoEarn,
		o.Accrued, version, state, o.AccruedAt, o.MaturesAt, o.Matured)
	if err != nil {
		return fmt.Errorf("server: saving order %s: %w", o.ID, err)
	}
	return nil
}

// setState pins a new money state and mirrors its lines on the order.
func (o *order) setState(s rules.OrderState) {
	o.State = &s
	o.Lines = o.Lines[:0]
	for _, l := range s.Lines {
		o.Lines = append(o.Lines, rules.Line{Product: l.Product, Amount: l.Amount})
	}
	o.Shipping = s.Shipping
}

// event is what one order command does: its journal kind, time and the
// keys that make its posting idempotent.
type event struct {
	program string
	kind    string
	at      time.Time
	key     string
	hash    []byte
	journal *ledger.Program
}

func (s *orderService) PayOrder(ctx context.Context, req *connect.Request[accruev1.PayOrderRequest]) (*connect.Response[accruev1.PayOrderResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkRef("order", m.GetOrder()); err != nil {
		return nil, err
	}
	if err := checkRef("customer", m.GetCustomer()); err != nil {
		return nil, err
	}
	if len(m.GetVisitor()) > MaxVisitorLen || len(m.GetPartnerCode()) > MaxCodeLen*4 {
		return nil, fault.Invalid("visitor", "at most %d characters", MaxVisitorLen)
	}
	resp := &accruev1.PayOrderResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, hash []byte) error {
		ev, err := s.begin(ctx, tx, m.GetProgram(), kindAccrual, at, m.GetIdempotencyKey(), hash)
		if err != nil {
			return err
		}
		_, prog, err := s.versionAt(ctx, tx, m.GetProgram(), at)
		if err != nil {
			return err
		}
		lines, shipping, err := parseLines(prog, m.GetLines(), m.GetShipping(), true)
		if err != nil {
			return err
		}
		o := &order{ID: m.GetOrder(), Customer: m.GetCustomer(), Visitor: m.GetVisitor(), Status: statusPaid,
			Lines: lines, Shipping: shipping, PaidAt: at, Matured: true}
		linesJSON, _ := json.Marshal(lines)
		tag, err := tx.Exec(ctx, `INSERT INTO orders (program_id, id, customer, visitor, status, lines, shipping, paid_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			m.GetProgram(), o.ID, o.Customer, o.Visitor, o.Status, linesJSON, shipping.String(), at)
		if err != nil {
			return fmt.Errorf("server: recording order: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.Precondition("order", "order %q is already paid", o.ID)
		}
		if o.Visitor != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO customer_visitors (program_id, customer, visitor) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, m.GetProgram(), o.Customer, o.Visitor); err != nil {
				return fmt.Errorf("server: tying visitor to customer: %w", err)
			}
		}
		a, err := attribute(ctx, tx, m.GetProgram(), prog, m.GetPartnerCode(), o.Visitor, o.Customer, at)
		if err != nil {
			return err
		}
		o.Partner, o.Attribution = a.partner, a.how
		if a.clickID != 0 {
			o.ClickID = &a.clickID
		}
		if o.Partner != "" {
			p, err := loadPartner(ctx, tx, m.GetProgram(), o.Partner, "partner_code", false)
			if err != nil {
				return err
			}
			if p.Customer != "" && p.Customer == o.Customer && !prog.Attribution.AllowSelfReferral {
				o.NoEarn = reasonSelfReferral
			}
		}
		if o.earns() && prog.AccrueOn == rules.AccrueOnPaid {
			if err := s.accrue(ctx, tx, ev, o); err != nil {
				return err
			}
		}
		if err := saveOrder(ctx, tx, m.GetProgram(), o); err != nil {
			return err
		}
		resp.Order, err = s.orderView(ctx, tx, m.GetProgram(), o, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// begin takes the program's share lock (so a close cannot slip between
// choosing the booking period and committing) and describes the event.
func (s *Server) begin(ctx context.Context, tx pgx.Tx, program, kind string, at time.Time, key string, hash []byte) (event, error) {
	lp, err := ledger.LockProgram(ctx, tx, program)
	if err != nil {
		return event{}, err
	}
	return event{program: program, kind: kind, at: at, key: key, hash: hash, journal: lp}, nil
}

// accrue pins the rules version, tier and upline chain in force at the
// event and posts the order's accrual.
func (s *Server) accrue(ctx context.Context, tx pgx.Tx, ev event, o *order) error {
	version, prog, err := s.versionAt(ctx, tx, ev.program, ev.at)
	if err != nil {
		return err
	}
	// Locking the partner serialises its accruals, so two orders crossing a
	// tier threshold at once each see the volume the other left.
	p, err := loadPartner(ctx, tx, ev.program, o.Partner, "partner", true)
	if err != nil {
		return err
	}
	if p.Status != "active" {
		o.NoEarn = reasonSuspended
		return nil
	}
	volume, err := ledger.AccountBalance(ctx, tx, ev.program, partnerAccount(o.Partner, kindSales))
	if err != nil {
		return err
	}
	upline, err := uplineAt(ctx, tx, ev.program, o.Partner, ev.at, len(prog.Upline))
	if err != nil {
		return err
	}
	state, plan := prog.Accrue(rules.AccrualFacts{
		Partner: o.Partner, Tier: prog.TierFor(volume), Lines: o.Lines, Shipping: o.Shipping, Upline: upline,
	})
	at := ev.at
	o.Accrued, o.Version, o.AccruedAt, o.Matured = true, version, &at, true
	if prog.Hold > 0 {
		matures := at.Add(prog.Hold)
		o.MaturesAt, o.Matured = &matures, false
	}
	o.setState(state)
	ev.kind = kindAccrual
	return s.postPlan(ctx, tx, ev, o, prog, plan)
}

// postPlan posts an order event's plan (SPEC §6) and records it with its
// provenance. Commission goes to pending while the order's accrual has not
// matured, to accrued after.
func (s *Server) postPlan(ctx context.Context, tx pgx.Tx, ev event, o *order, prog *rules.Program, plan rules.Plan) error {
	earnings := kindAccrued
	if !o.Matured {
		earnings = kindPending
	}
	var m movement
	m.move("platform:attributed_sales", partnerAccount(o.Partner, kindSales), plan.Sales)
	m.move("platform:commission_expense", partnerAccount(o.Partner, earnings), plan.Commission)
	for _, lv := range plan.Upline {
		m.move("platform:upline_expense", partnerAccount(lv.Partner, earnings), lv.Amount)
	}
	var txID int64
	if l := m.legs(); len(l) >= 2 {
		t, _, err := ledger.Post(ctx, tx, ledger.Posting{
			Program: ev.program, Key: "cmd:" + ev.key, Kind: ev.kind, At: ev.at, Period: ev.journal.BookingPeriod(ev.at),
			Refs:        map[string]string{"order": o.ID, "partner": o.Partner, "customer": o.Customer},
			Metadata:    map[string]string{"rules_version": strconv.Itoa(int(o.Version)), "tier": o.State.Tier},
			Legs:        l,
			RequestHash: ev.hash,
		})
		if err != nil {
			return err
		}
		txID = t.ID
	}
	body, err := json.Marshal(recordedPlan{Version: o.Version, Tier: o.State.Tier, Plan: plan})
	if err != nil {
		return fmt.Errorf("server: encoding plan: %w", err)
	}
	var id *int64
	if txID != 0 {
		id = &txID
	}
	_, err = tx.Exec(ctx, `INSERT INTO order_events (program_id, order_id, seq, kind, at, plan, transaction_id)
		SELECT $1, $2, COALESCE(max(seq), 0) + 1, $3, $4, $5, $6 FROM order_events WHERE program_id = $1 AND order_id = $2`,
		ev.program, o.ID, ev.kind, ev.at, body, id)
	if err != nil {
		return fmt.Errorf("server: recording order event: %w", err)
	}
	return nil
}

// recordedPlan is an order event's plan as stored, with what it was pinned to.
type recordedPlan struct {
	Version int32      `json:"version"`
	Tier    string     `json:"tier"`
	Plan    rules.Plan `json:"plan"`
}

// change runs an order event on an existing order: it loads and locks the
// order, refuses a cancelled one, applies fn (which adjusts the order and
// may return a plan to post), and saves it.
func (s *Server) change(ctx context.Context, req command, resp orderResponse, at time.Time, orderID string,
	fn func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error)) (bool, error) {
	if err := checkRef("order", orderID); err != nil {
		return false, err
	}
	return s.exec(ctx, req, resp, func(tx pgx.Tx, hash []byte) error {
		ev, err := s.begin(ctx, tx, req.GetProgram(), kindAdjustment, at, req.GetIdempotencyKey(), hash)
		if err != nil {
			return err
		}
		o, err := loadOrder(ctx, tx, req.GetProgram(), orderID)
		if err != nil {
			return err
		}
		if o.Status == statusCancelled {
			return fault.Precondition("order", "order %q is cancelled", orderID)
		}
		// An accrued order keeps the version it accrued under; before that,
		// the version in force now reads the amounts.
		var prog *rules.Program
		if o.Accrued {
			prog, err = s.rulesVersion(ctx, tx, req.GetProgram(), o.Version)
		} else {
			_, prog, err = s.versionAt(ctx, tx, req.GetProgram(), at)
		}
		if err != nil {
			return err
		}
		plan, err := fn(tx, ev, o, prog)
		if err != nil {
			return err
		}
		if plan != nil && o.Accrued && o.earns() {
			if err := s.postPlan(ctx, tx, ev, o, prog, *plan); err != nil {
				return err
			}
		}
		if err := saveOrder(ctx, tx, req.GetProgram(), o); err != nil {
			return err
		}
		view, err := s.orderView(ctx, tx, req.GetProgram(), o, false)
		if err != nil {
			return err
		}
		resp.setOrder(view)
		return nil
	})
}

// orderResponse is a response that carries the order.
type orderResponse interface {
	proto.Message
	setOrder(*accruev1.Order)
}

type (
	completeResponse struct {
		*accruev1.CompleteOrderResponse
	}
	refundResponse struct{ *accruev1.RefundOrderResponse }
	amendResponse  struct{ *accruev1.AmendOrderResponse }
	cancelResponse struct{ *accruev1.CancelOrderResponse }
)

func (r completeResponse) setOrder(o *accruev1.Order) { r.Order = o }
func (r refundResponse) setOrder(o *accruev1.Order)   { r.Order = o }
func (r amendResponse) setOrder(o *accruev1.Order)    { r.Order = o }
func (r cancelResponse) setOrder(o *accruev1.Order)   { r.Order = o }

func (s *orderService) CompleteOrder(ctx context.Context, req *connect.Request[accruev1.CompleteOrderRequest]) (*connect.Response[accruev1.CompleteOrderResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.CompleteOrderResponse{}
	replayed, err := s.change(ctx, m, completeResponse{resp}, at, m.GetOrder(), func(tx pgx.Tx, ev event, o *order, _ *rules.Program) (*rules.Plan, error) {
		if o.Status == statusCompleted {
			return nil, fault.Precondition("order", "order %q is already completed", o.ID)
		}
		o.Status = statusCompleted
		// Whichever event the rules accrue on, both have happened now: an
		// earning order that has not accrued (accrue_on: completed, or a
		// rules change between payment and completion) accrues here.
		if o.earns() && !o.Accrued {
			return nil, s.accrue(ctx, tx, ev, o)
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

func (s *orderService) RefundOrder(ctx context.Context, req *connect.Request[accruev1.RefundOrderRequest]) (*connect.Response[accruev1.RefundOrderResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.RefundOrderResponse{}
	replayed, err := s.change(ctx, m, refundResponse{resp}, at, m.GetOrder(), func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		lines, shipping, err := parseLines(prog, m.GetLines(), m.GetShipping(), false)
		if err != nil {
			return nil, err
		}
		if len(lines) == 0 && shipping.IsZero() {
			return nil, fault.Invalid("lines", "nothing to refund: give lines or shipping")
		}
		if !o.Accrued {
			o.Lines, o.Shipping, err = prog.RefundLines(o.Lines, o.Shipping, lines, shipping)
			return nil, rulesErr(err)
		}
		state, plan, err := prog.Refund(*o.State, lines, shipping)
		if err != nil {
			return nil, rulesErr(err)
		}
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// rulesErr maps a rules validation error to a fault, passing nil through.
func rulesErr(err error) error {
	if err == nil {
		return nil
	}
	return rulesFault(err)
}

func (s *orderService) AmendOrder(ctx context.Context, req *connect.Request[accruev1.AmendOrderRequest]) (*connect.Response[accruev1.AmendOrderResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.AmendOrderResponse{}
	replayed, err := s.change(ctx, m, amendResponse{resp}, at, m.GetOrder(), func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		lines, _, err := parseLines(prog, m.GetLines(), "", true)
		if err != nil {
			return nil, err
		}
		if !o.Accrued {
			o.Lines, err = prog.AmendLines(o.Lines, lines)
			return nil, rulesErr(err)
		}
		state, plan, err := prog.Amend(*o.State, lines)
		if err != nil {
			return nil, rulesErr(err)
		}
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

func (s *orderService) CancelOrder(ctx context.Context, req *connect.Request[accruev1.CancelOrderRequest]) (*connect.Response[accruev1.CancelOrderResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.CancelOrderResponse{}
	replayed, err := s.change(ctx, m, cancelResponse{resp}, at, m.GetOrder(), func(tx pgx.Tx, ev event, o *order, prog *rules.Program) (*rules.Plan, error) {
		o.Status = statusCancelled
		if !o.Accrued {
			return nil, nil
		}
		state, plan := prog.Cancel(*o.State)
		o.setState(state)
		return &plan, nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

func (s *orderService) GetOrder(ctx context.Context, req *connect.Request[accruev1.GetOrderRequest]) (*connect.Response[accruev1.GetOrderResponse], error) {
	var view *accruev1.Order
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		o, err := loadOrderReadOnly(ctx, tx, req.Msg.GetProgram(), req.Msg.GetOrder())
		if err != nil {
			return err
		}
		view, err = s.orderView(ctx, tx, req.Msg.GetProgram(), o, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetOrderResponse{Order: view}), nil
}

// orderView renders an order; with history, every event's plan and every
// journal transaction of the order.
func (s *Server) orderView(ctx context.Context, q querier, program string, o *order, history bool) (*accruev1.Order, error) {
	lp, err := ledger.LoadProgram(ctx, q, program)
	if err != nil {
		return nil, err
	}
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
	if out.Events, err = s.orderEvents(ctx, q, program, o.ID); err != nil {
		return nil, err
	}
	ts, err := ledger.ListTransactions(ctx, q, program, ledger.TransactionFilter{Order: o.ID, Limit: ledger.MaxPageSize})
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out.Transactions = append(out.Transactions, transactionToProto(t, lp.Scale))
	}
	return out, nil
}

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
		return nil, err
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
