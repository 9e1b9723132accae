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

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// orderService serves accrue.v1.OrderService.
type orderService struct{ *Server }

// MaxRefLen bounds order and customer ids and the other references a
// caller brings (payout and spend ids, payout methods and references).
const MaxRefLen = 128

// partnerCodeLenMax bounds the partner code an order names. It is looser
// than MaxCodeLen: a code that matches no partner is not refused, the order
// falls back to click attribution.
const partnerCodeLenMax = MaxCodeLen * 4

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

// checkRef validates a required reference (an order, customer, payout or
// spend id).
func checkRef(field, v string) error {
	if v == "" || len(v) > MaxRefLen {
		return fault.Invalid(field, "required, at most %d characters", MaxRefLen)
	}
	return nil
}

// checkOptionalRef validates a reference that may be empty.
func checkOptionalRef(field, v string) error {
	if len(v) > MaxRefLen {
		return fault.Invalid(field, "at most %d characters", MaxRefLen)
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

// PayOrder records a paid order (SPEC §5): it attributes the order to a
// partner (partner code, else a click of its visitor or customer) and, when
// the rules accrue on payment and the partner may earn on it, posts the
// accrual.
func (s *orderService) PayOrder(ctx context.Context, req *connect.Request[accruev1.PayOrderRequest]) (*connect.Response[accruev1.PayOrderResponse], error) {
	m := req.Msg
	if err := checkRef("order", m.GetOrder()); err != nil {
		return nil, err
	}
	if err := checkRef("customer", m.GetCustomer()); err != nil {
		return nil, err
	}
	if len(m.GetVisitor()) > MaxVisitorLen {
		return nil, fault.Invalid("visitor", "at most %d characters", MaxVisitorLen)
	}
	if len(m.GetPartnerCode()) > partnerCodeLenMax {
		return nil, fault.Invalid("partner_code", "at most %d characters", partnerCodeLenMax)
	}
	resp := &accruev1.PayOrderResponse{}
	replayed, err := s.execPosting(ctx, m, affiliate.KindAccrual, resp, func(tx pgx.Tx, ev event) error {
		at := ev.at
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
		if err := insertOrder(ctx, tx, m.GetProgram(), o); err != nil {
			return err
		}
		if err := attributeOrder(ctx, tx, m.GetProgram(), prog, o, m.GetPartnerCode(), at); err != nil {
			return err
		}
		if o.earns() && prog.AccrueOn == rules.AccrueOnPaid {
			if err := s.accrue(ctx, tx, ev, o); err != nil {
				return err
			}
		}
		if err := saveOrder(ctx, tx, m.GetProgram(), o); err != nil {
			return err
		}
		resp.Order, err = s.orderView(ctx, tx, ev.journal, o, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// insertOrder records a newly paid order and ties its visitor to its
// customer; fault FailedPrecondition when the order was paid before.
func insertOrder(ctx context.Context, tx pgx.Tx, program string, o *order) error {
	linesJSON, _ := json.Marshal(o.Lines)
	tag, err := tx.Exec(ctx, `INSERT INTO orders (program_id, id, customer, visitor, status, lines, shipping, paid_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		program, o.ID, o.Customer, o.Visitor, o.Status, linesJSON, o.Shipping.String(), o.PaidAt)
	if err != nil {
		return fmt.Errorf("server: recording order: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fault.Precondition("order", "order %q is already paid", o.ID)
	}
	if o.Visitor != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO customer_visitors (program_id, customer, visitor) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, program, o.Customer, o.Visitor); err != nil {
			return fmt.Errorf("server: tying visitor to customer: %w", err)
		}
	}
	return nil
}

// attributeOrder decides who a new order is attributed to (attribute) and
// whether that partner may earn on it: not on its own purchase unless the
// rules allow self-referral.
func attributeOrder(ctx context.Context, tx pgx.Tx, program string, prog *rules.Program, o *order, code string, at time.Time) error {
	a, err := attribute(ctx, tx, program, prog, code, o.Visitor, o.Customer, at)
	if err != nil {
		return err
	}
	o.Partner, o.Attribution = a.partner, a.how
	if a.clickID != 0 {
		o.ClickID = &a.clickID
	}
	if o.Partner == "" {
		return nil
	}
	p, err := loadPartner(ctx, tx, program, o.Partner, "partner_code", false)
	if err != nil {
		return err
	}
	if selfReferral(p, o.Customer, prog.Attribution.AllowSelfReferral) {
		o.NoEarn = reasonSelfReferral
	}
	return nil
}

// selfReferral reports whether an order of customer attributed to p is p's
// own purchase that earns nothing: p is tied to that customer and the rules
// do not allow self-referral.
func selfReferral(p partner, customer string, allowed bool) bool {
	return p.Customer != "" && p.Customer == customer && !allowed
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
	volume, err := ledger.AccountBalance(ctx, tx, ev.program, affiliate.PartnerAccount(o.Partner, affiliate.Sales))
	if err != nil {
		return err
	}
	upline, err := uplineAt(ctx, tx, ev.program, o.Partner, ev.at, len(prog.Upline))
	if err != nil {
		return err
	}
	facts := rules.AccrualFacts{Partner: o.Partner, Tier: prog.TierFor(volume), Lines: o.Lines, Shipping: o.Shipping, Upline: upline}
	if err := prog.CheckFacts(facts); err != nil {
		return rulesFault(err) // an order stored before the amount bound
	}
	state, plan := prog.Accrue(facts)
	at := ev.at
	o.Accrued, o.Version, o.AccruedAt, o.Matured = true, version, &at, true
	if prog.Hold > 0 {
		matures := at.Add(prog.Hold)
		o.MaturesAt, o.Matured = &matures, false
	}
	o.setState(state)
	ev.kind = affiliate.KindAccrual
	return s.postPlan(ctx, tx, ev, o, prog, plan)
}

// postPlan posts an order event's plan (SPEC §6) and records it with its
// provenance. Commission goes to pending while the order's accrual has not
// matured, to accrued after.
func (s *Server) postPlan(ctx context.Context, tx pgx.Tx, ev event, o *order, prog *rules.Program, plan rules.Plan) error {
	earnings := affiliate.Accrued
	if !o.Matured {
		earnings = affiliate.Pending
	}
	var m affiliate.Movement
	m.Move(affiliate.AttributedSales, affiliate.PartnerAccount(o.Partner, affiliate.Sales), plan.Sales)
	m.Move(affiliate.CommissionExpense, affiliate.PartnerAccount(o.Partner, earnings), plan.Commission)
	for _, lv := range plan.Upline {
		m.Move(affiliate.UplineExpense, affiliate.PartnerAccount(lv.Partner, earnings), lv.Amount)
	}
	var txID int64
	if l := m.Legs(); len(l) >= 2 {
		t, err := ev.post(ctx, tx,
			map[string]string{"order": o.ID, "partner": o.Partner, "customer": o.Customer},
			map[string]string{"rules_version": strconv.Itoa(int(o.Version)), "tier": o.State.Tier}, l)
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
