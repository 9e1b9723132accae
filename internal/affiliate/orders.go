package affiliate

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// Order statuses (SPEC §5).
const (
	StatusPaid      = "paid"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// Reasons an attributed order earns nothing.
const (
	ReasonSelfReferral = "self_referral"
	ReasonSuspended    = "partner_suspended"
)

// PartnerActive is the status of a partner who may earn.
const PartnerActive = "active"

// Order is an order as the domain sees it: what was paid, who it is
// attributed to, and the money state pinned when it accrued.
type Order struct {
	ID          string
	Customer    string
	Visitor     string
	Status      string
	Lines       []rules.Line
	Shipping    decimal.Decimal
	Partner     string
	Attribution string // "partner_code", "last_click", "first_click" or ""
	ClickID     *int64
	NoEarn      string // why an attributed order earns nothing; "" when it may
	Accrued     bool
	Version     int32 // the rules version it accrued under; 0 before
	State       *rules.OrderState
	PaidAt      time.Time
	AccruedAt   *time.Time
	MaturesAt   *time.Time // when its accrual's hold ends; nil without a hold
	Matured     bool
}

// Attribution is who an order is attributed to, and how.
type Attribution struct {
	Partner string
	How     string // "partner_code", "last_click", "first_click" or ""
	ClickID int64
}

// Earner is what deciding whether a partner earns on an order reads of it.
type Earner struct {
	Customer string // the customer the partner is tied to; "" when none
	Status   string
}

// Accrual is an order's accrual as the rules computed it: the version and
// time it is pinned to, the hold of that version, the order's money state
// and the plan to post.
type Accrual struct {
	Version int32
	At      time.Time
	Hold    time.Duration
	State   rules.OrderState
	Plan    rules.Plan
}

// Earns reports whether the order is attributed to a partner who may earn on it.
func (o *Order) Earns() bool { return o.Partner != "" && o.NoEarn == "" }

// NewOrder is an order just paid at at: not attributed yet, nothing
// pending.
func NewOrder(id, customer, visitor string, lines []rules.Line, shipping decimal.Decimal, at time.Time) Order {
	return Order{ID: id, Customer: customer, Visitor: visitor, Status: StatusPaid, Lines: lines, Shipping: shipping,
		PaidAt: at, Matured: true}
}

// Attribute is the order attributed as a, to partner p: kept from earning
// when it is p's own purchase and the rules do not allow self-referral.
func (o Order) Attribute(a Attribution, p Earner, allowSelfReferral bool) Order {
	o.Partner, o.Attribution = a.Partner, a.How
	if a.ClickID != 0 {
		id := a.ClickID
		o.ClickID = &id
	}
	if o.Partner != "" && SelfReferral(p.Customer, o.Customer, allowSelfReferral) {
		o.NoEarn = ReasonSelfReferral
	}
	return o
}

// Eligible decides whether an earning order accrues for its partner p now:
// an active partner earns; a suspended one earns nothing on it, which the
// returned order records.
func (o Order) Eligible(p Earner) (Order, bool) {
	if p.Status != PartnerActive {
		o.NoEarn = ReasonSuspended
		return o, false
	}
	return o, true
}

// Accrue is the order's state after acc: pinned to its version and time,
// its money state set, and pending until acc's hold ends (matured at once
// without a hold).
func (o Order) Accrue(acc Accrual) Order {
	at := acc.At
	o.Accrued, o.Version, o.AccruedAt, o.Matured, o.MaturesAt = true, acc.Version, &at, true, nil
	if acc.Hold > 0 {
		matures := at.Add(acc.Hold)
		o.MaturesAt, o.Matured = &matures, false
	}
	o.SetState(acc.State)
	return o
}

// SetState pins a new money state and mirrors its lines on the order.
func (o *Order) SetState(s rules.OrderState) {
	o.State = &s
	lines := make([]rules.Line, 0, len(s.Lines))
	for _, l := range s.Lines {
		lines = append(lines, rules.Line{Product: l.Product, Amount: l.Amount})
	}
	o.Lines, o.Shipping = lines, s.Shipping
}

// CheckOpen refuses an event on a cancelled order.
func (o *Order) CheckOpen() error {
	if o.Status == StatusCancelled {
		return fault.FailedPrecondition("order", "order %q is cancelled", o.ID)
	}
	return nil
}

// Complete marks the order completed; fault FailedPrecondition when it is
// completed already.
func (o *Order) Complete() error {
	if o.Status == StatusCompleted {
		return fault.FailedPrecondition("order", "order %q is already completed", o.ID)
	}
	o.Status = StatusCompleted
	return nil
}

// Cancel marks the order cancelled: no later event may change it.
func (o *Order) Cancel() { o.Status = StatusCancelled }

// AlreadyPaid is the refusal of a payment for an order id paid before.
func AlreadyPaid(id string) error {
	return fault.FailedPrecondition("order", "order %q is already paid", id)
}

// PlanLegs are the legs an order event's plan posts (SPEC §6): the sales
// memo to the partner, and commission and upline levels to pending while
// the order's accrual has not matured, to accrued after.
func (o *Order) PlanLegs(plan rules.Plan) []ledger.Leg {
	earnings := Accrued
	if !o.Matured {
		earnings = Pending
	}
	var m Movement
	m.Move(AttributedSales, PartnerAccount(o.Partner, Sales), plan.Sales)
	m.Move(CommissionExpense, PartnerAccount(o.Partner, earnings), plan.Commission)
	for _, lv := range plan.Upline {
		m.Move(UplineExpense, PartnerAccount(lv.Partner, earnings), lv.Amount)
	}
	return m.Legs()
}

// PlanRefs are the references of an order event's journal transaction.
func (o *Order) PlanRefs() map[string]string {
	return map[string]string{"order": o.ID, "partner": o.Partner, "customer": o.Customer}
}

// PlanMetadata is the provenance of an order event's journal transaction:
// the rules version and tier it was computed under.
func (o *Order) PlanMetadata() map[string]string {
	return map[string]string{"rules_version": strconv.Itoa(int(o.Version)), "tier": o.State.Tier}
}
