package affiliate_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

func TestAttributeAndEligible(t *testing.T) {
	paid := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := affiliate.NewOrder("o1", "k1", "v1", nil, decimal.Zero, paid)
	for _, tc := range []struct {
		name        string
		a           affiliate.Attribution
		p           affiliate.Earner
		allowSelf   bool
		wantNoEarn  string
		wantEarns   bool
		wantClickID bool
	}{
		{name: "no partner", wantEarns: false},
		{name: "by code, active partner", a: affiliate.Attribution{Partner: "rob", How: "partner_code"},
			p: affiliate.Earner{Customer: "k9", Status: "active"}, wantEarns: true},
		{name: "by click keeps the click", a: affiliate.Attribution{Partner: "rob", How: "last_click", ClickID: 7},
			p: affiliate.Earner{Status: "active"}, wantEarns: true, wantClickID: true},
		{name: "self-referral earns nothing", a: affiliate.Attribution{Partner: "rob", How: "partner_code"},
			p: affiliate.Earner{Customer: "k1", Status: "active"}, wantNoEarn: affiliate.ReasonSelfReferral},
		{name: "self-referral allowed", a: affiliate.Attribution{Partner: "rob", How: "partner_code"},
			p: affiliate.Earner{Customer: "k1", Status: "active"}, allowSelf: true, wantEarns: true},
		{name: "suspended partner", a: affiliate.Attribution{Partner: "rob", How: "partner_code"},
			p: affiliate.Earner{Status: "suspended"}, wantNoEarn: affiliate.ReasonSuspended},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base.Attribute(tc.a, tc.p, tc.allowSelf)
			if o.Partner != tc.a.Partner || o.Attribution != tc.a.How || (o.ClickID != nil) != tc.wantClickID {
				t.Fatalf("attributed %+v, want partner %q how %q click %v", o, tc.a.Partner, tc.a.How, tc.wantClickID)
			}
			earns := o.Earns()
			if earns {
				o, earns = o.Eligible(tc.p)
			}
			if earns != tc.wantEarns || o.NoEarn != tc.wantNoEarn {
				t.Fatalf("earns %v (%q), want %v (%q)", earns, o.NoEarn, tc.wantEarns, tc.wantNoEarn)
			}
			if o.Status != affiliate.StatusPaid || !o.PaidAt.Equal(paid) || !o.Matured {
				t.Fatalf("a new order is paid at %s with nothing pending, got %+v", paid, o)
			}
		})
	}
}

func TestAccrueHoldAndMaturity(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	state := rules.OrderState{Tier: "gold", Shipping: decimal.NewFromInt(5),
		Lines: []rules.LineState{{Product: "p", Amount: decimal.NewFromInt(100)}}}
	for _, tc := range []struct {
		name        string
		hold        time.Duration
		wantMatured bool
		wantMatures *time.Time
	}{
		{name: "no hold matures at once", hold: 0, wantMatured: true},
		{name: "a hold keeps it pending", hold: 14 * 24 * time.Hour, wantMatures: ptr(at.Add(14 * 24 * time.Hour))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := affiliate.NewOrder("o1", "k1", "", []rules.Line{{Product: "p", Amount: decimal.NewFromInt(120)}}, decimal.Zero, at)
			o = o.Accrue(affiliate.Accrual{Version: 3, At: at, Hold: tc.hold, State: state})
			if !o.Accrued || o.Version != 3 || o.AccruedAt == nil || !o.AccruedAt.Equal(at) || o.State.Tier != "gold" {
				t.Fatalf("accrual not pinned: %+v", o)
			}
			if o.Matured != tc.wantMatured || !reflect.DeepEqual(o.MaturesAt, tc.wantMatures) {
				t.Fatalf("matured %v at %v, want %v at %v", o.Matured, o.MaturesAt, tc.wantMatured, tc.wantMatures)
			}
			if len(o.Lines) != 1 || !o.Lines[0].Amount.Equal(decimal.NewFromInt(100)) || !o.Shipping.Equal(decimal.NewFromInt(5)) {
				t.Fatalf("lines and shipping not mirrored from the state: %+v %s", o.Lines, o.Shipping)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestOrderLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        string
		openErr       bool
		completeErr   bool
		afterComplete string
	}{
		{name: "paid completes", status: affiliate.StatusPaid, afterComplete: affiliate.StatusCompleted},
		{name: "completed twice", status: affiliate.StatusCompleted, completeErr: true, afterComplete: affiliate.StatusCompleted},
		{name: "cancelled is closed", status: affiliate.StatusCancelled, openErr: true, afterComplete: affiliate.StatusCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := affiliate.Order{ID: "o1", Status: tc.status}
			if err := o.CheckOpen(); (err != nil) != tc.openErr || (err != nil && fault.CodeOf(err) != fault.CodeFailedPrecondition) {
				t.Fatalf("CheckOpen = %v, want error %v (failed_precondition)", err, tc.openErr)
			}
			if err := o.Complete(); (err != nil) != tc.completeErr || (err != nil && fault.CodeOf(err) != fault.CodeFailedPrecondition) {
				t.Fatalf("Complete = %v, want error %v (failed_precondition)", err, tc.completeErr)
			}
			if o.Status != tc.afterComplete {
				t.Fatalf("status %q, want %q", o.Status, tc.afterComplete)
			}
			o.Cancel()
			if o.CheckOpen() == nil {
				t.Fatal("a cancelled order is open")
			}
		})
	}
	if err := affiliate.AlreadyPaid("o1"); fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Fatalf("AlreadyPaid = %v, want failed_precondition", err)
	}
}

func TestPlanLegs(t *testing.T) {
	d := decimal.RequireFromString
	plan := rules.Plan{Sales: d("100"), Commission: d("10"),
		Upline: []rules.LevelPlan{{Level: 1, Partner: "amy", Amount: d("2")}}}
	for _, tc := range []struct {
		name    string
		matured bool
		plan    rules.Plan
		want    []ledger.Leg
	}{
		{name: "matured posts to accrued", matured: true, plan: plan, want: []ledger.Leg{
			{Account: affiliate.AttributedSales, Side: ledger.Debit, Amount: d("100")},
			{Account: "partner:rob:sales", Side: ledger.Credit, Amount: d("100")},
			{Account: affiliate.CommissionExpense, Side: ledger.Debit, Amount: d("10")},
			{Account: "partner:rob:accrued", Side: ledger.Credit, Amount: d("10")},
			{Account: affiliate.UplineExpense, Side: ledger.Debit, Amount: d("2")},
			{Account: "partner:amy:accrued", Side: ledger.Credit, Amount: d("2")},
		}},
		{name: "on hold posts to pending", plan: rules.Plan{Sales: d("100"), Commission: d("10")}, want: []ledger.Leg{
			{Account: affiliate.AttributedSales, Side: ledger.Debit, Amount: d("100")},
			{Account: "partner:rob:sales", Side: ledger.Credit, Amount: d("100")},
			{Account: affiliate.CommissionExpense, Side: ledger.Debit, Amount: d("10")},
			{Account: "partner:rob:pending", Side: ledger.Credit, Amount: d("10")},
		}},
		{name: "a reversal posts the other way", matured: true, plan: rules.Plan{Sales: d("-100"), Commission: d("-10")}, want: []ledger.Leg{
			{Account: affiliate.AttributedSales, Side: ledger.Credit, Amount: d("100")},
			{Account: "partner:rob:sales", Side: ledger.Debit, Amount: d("100")},
			{Account: affiliate.CommissionExpense, Side: ledger.Credit, Amount: d("10")},
			{Account: "partner:rob:accrued", Side: ledger.Debit, Amount: d("10")},
		}},
		{name: "a zero plan moves nothing", matured: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := affiliate.Order{ID: "o1", Partner: "rob", Matured: tc.matured}
			got := o.PlanLegs(tc.plan)
			if len(got) != len(tc.want) {
				t.Fatalf("legs %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Account != tc.want[i].Account || got[i].Side != tc.want[i].Side || !got[i].Amount.Equal(tc.want[i].Amount) {
					t.Fatalf("leg %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
