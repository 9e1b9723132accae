package rules

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// precedenceDoc is the program of scenario 02-rule-precedence.
const precedenceDoc = `
currency: USD
commission:
  default: 10%
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
    - {match: {partner: carol}, rate: 12%}
    - {match: {partner: dave, product: belt}, rate: 20%}
`

// ls builds lines from product, amount pairs.
func ls(pairs ...string) []Line {
	var out []Line
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Line{Product: pairs[i], Amount: dec(pairs[i+1])})
	}
	return out
}

func accrue(t *testing.T, p *Program, partner string, lines []Line, shipping string, upline ...UplineMember) (OrderState, Plan) {
	t.Helper()
	merged, err := p.MergeLines(lines)
	if err != nil {
		t.Fatalf("MergeLines: %v", err)
	}
	return p.Accrue(AccrualFacts{Partner: partner, Lines: merged, Shipping: dec(shipping), Upline: upline})
}

// wantDeltas compares a plan's per-line commission deltas, its commission,
// its sales and its upline amounts with the expected figures.
func wantPlan(t *testing.T, pl Plan, commission, sales string, lineDeltas []string, upline ...string) {
	t.Helper()
	if !pl.Commission.Equal(dec(commission)) {
		t.Errorf("commission = %s, want %s", pl.Commission, commission)
	}
	if !pl.Sales.Equal(dec(sales)) {
		t.Errorf("sales = %s, want %s", pl.Sales, sales)
	}
	if lineDeltas != nil {
		if len(pl.Lines) != len(lineDeltas) {
			t.Fatalf("lines = %+v, want %d", pl.Lines, len(lineDeltas))
		}
		for i, want := range lineDeltas {
			if !pl.Lines[i].CommissionDelta.Equal(dec(want)) {
				t.Errorf("lines[%d] (%s) = %s, want %s", i, pl.Lines[i].Product, pl.Lines[i].CommissionDelta, want)
			}
		}
	}
	if len(pl.Upline) != len(upline) {
		t.Fatalf("upline = %+v, want %v", pl.Upline, upline)
	}
	for i, want := range upline {
		if !pl.Upline[i].Amount.Equal(dec(want)) {
			t.Errorf("upline[%d] = %s, want %s", i, pl.Upline[i].Amount, want)
		}
	}
}

func TestRulePrecedenceScenario(t *testing.T) {
	p := mustParse(t, precedenceDoc)
	t.Run("carol", func(t *testing.T) {
		_, pl := accrue(t, p, "carol", ls("bag", "100.00", "belt", "100.00", "gift-card", "50.00"), "0")
		wantPlan(t, pl, "24.00", "250.00", []string{"12.00", "12.00", "0"})
		if pl.Lines[2].Rate.Participates || pl.Lines[1].Rate.Source != "commission.rules[2]" {
			t.Errorf("provenance: %+v", pl.Lines)
		}
	})
	t.Run("dave", func(t *testing.T) {
		s, pl := accrue(t, p, "dave", ls("bag", "100.00", "belt", "100.00"), "0")
		wantPlan(t, pl, "30.00", "200.00", []string{"10.00", "20.00"})
		// A later refund uses the pinned state, whatever the program says now.
		_, pl, err := p.Refund(s, ls("bag", "50.00"), decimal.Zero)
		if err != nil {
			t.Fatal(err)
		}
		wantPlan(t, pl, "-5.00", "-50.00", []string{"-5.00"})
	})
	t.Run("erin rounding", func(t *testing.T) {
		s, pl := accrue(t, p, "erin", ls("bag", "1.25", "belt", "333.33"), "0")
		wantPlan(t, pl, "50.13", "334.58", []string{"0.13", "50.00"})
		_, pl, err := p.Refund(s, ls("bag", "1.25"), decimal.Zero)
		if err != nil {
			t.Fatal(err)
		}
		wantPlan(t, pl, "-0.13", "-1.25", []string{"-0.13"})
		if pl.Lines[0].Note != noteExact {
			t.Errorf("note = %q", pl.Lines[0].Note)
		}
	})
	t.Run("erin amend", func(t *testing.T) {
		s, pl := accrue(t, p, "erin", ls("bag", "100.00", "belt", "100.00"), "15.00")
		wantPlan(t, pl, "25.00", "215.00", []string{"10.00", "15.00"})
		s, pl, err := p.Amend(s, ls("bag", "60.00", "belt", "100.00", "wallet", "50.00"))
		if err != nil {
			t.Fatal(err)
		}
		wantPlan(t, pl, "1.00", "10.00", []string{"-4.00", "5.00"})
		if pl.Lines[1].Product != "wallet" || pl.Lines[1].Note != noteNewLine || !s.Commission().Equal(dec("26.00")) ||
			!s.Sales().Equal(dec("225.00")) {
			t.Errorf("plan %+v state %+v", pl, s)
		}
	})
}

func TestUplineOrderAmount(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%}, upline: [{level: 1, rate: 2%, base: order_amount}]}`)
	alice := UplineMember{Partner: "alice", Eligible: true}
	s, pl := accrue(t, p, "bob", ls("bag", "500.00", "belt", "200.00"), "0", alice, UplineMember{Partner: "extra", Eligible: true})
	wantPlan(t, pl, "70.00", "700.00", []string{"50.00", "20.00"}, "14.00")
	if pl.Upline[0].Partner != "alice" || !pl.Upline[0].BaseAmount.Equal(dec("700")) {
		t.Errorf("upline provenance: %+v", pl.Upline[0])
	}
	s, pl, err := p.Refund(s, ls("bag", "200.00"), decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "-20.00", "-200.00", []string{"-20.00"}, "-4.00")
	// The rest of the order: exactly what remains, 10.00 for alice.
	s, pl, err = p.Refund(s, ls("bag", "300.00", "belt", "200.00"), decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "-50.00", "-500.00", []string{"-30.00", "-20.00"}, "-10.00")
	if !s.Commission().IsZero() || !s.Upline[0].Remaining.IsZero() {
		t.Errorf("state %+v", s)
	}
}

func TestUplineCommissionBase(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%},
	  upline: [{level: 1, rate: 30%, base: commission}, {level: 2, rate: 10%, base: commission}]}`)
	judy, ivan := UplineMember{Partner: "judy", Eligible: true}, UplineMember{Partner: "ivan", Eligible: true}
	s, pl := accrue(t, p, "kim", ls("bag", "1000.00"), "0", judy, ivan)
	wantPlan(t, pl, "100.00", "1000.00", nil, "30.00", "10.00")
	_, pl, err := p.Refund(s, ls("bag", "100.00"), decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "-10.00", "-100.00", nil, "-3.00", "-1.00")

	// The chain ends at judy: ivan's link had ended.
	_, pl = accrue(t, p, "kim", ls("bag", "200.00", "belt", "100.00"), "0", judy)
	wantPlan(t, pl, "30.00", "300.00", nil, "9.00")

	// A suspended kim earns nothing at its level; judy above is unchanged.
	s, pl = accrue(t, p, "lee", ls("bag", "50.00"), "0", UplineMember{Partner: "kim"}, judy)
	wantPlan(t, pl, "5.00", "50.00", nil, "0", "0.50")
	if pl.Upline[0].Note != noteIneligible {
		t.Errorf("note = %q", pl.Upline[0].Note)
	}
	_, pl = p.Cancel(s)
	wantPlan(t, pl, "-5.00", "-50.00", nil, "-0.50")
}

func TestRefundErrors(t *testing.T) {
	p := mustParse(t, precedenceDoc)
	s, _ := accrue(t, p, "erin", ls("bag", "150.00", "belt", "10.00"), "15.00")
	tests := []struct {
		lines    []Line
		shipping string
		want     string
	}{
		{ls("bag", "200.00"), "0", "lines[0].amount: refund 200.00 exceeds the 150.00 that remains of bag"},
		{ls("belt", "1", "bag", "100.00", "bag", "100.00"), "0", "lines[1].amount: refund 200.00 exceeds the 150.00 that remains of bag"},
		{ls("hat", "1.00"), "0", `lines[0].product: "hat" is not on this order`},
		{ls("bag", "-1.00"), "0", "lines[0].amount: -1.00 is negative"},
		{ls("bag", "1.001"), "0", "lines[0].amount: 1.001 has more than 2 decimals for USD"},
		{[]Line{{Amount: dec("1")}}, "0", "lines[0].product: is required"},
		{nil, "15.01", "shipping: refund 15.01 exceeds the 15.00 that remains of shipping"},
		{nil, "0", "lines: nothing to refund"},
	}
	for _, tt := range tests {
		_, _, err := p.Refund(s, tt.lines, dec(tt.shipping))
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Refund(%v, %s) = %v, want %q", tt.lines, tt.shipping, err, tt.want)
		}
		_, _, err = p.RefundLines(s.lines(), s.Shipping, tt.lines, dec(tt.shipping))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RefundLines(%v, %s) = %v, want %q", tt.lines, tt.shipping, err, tt.want)
		}
	}
}

func TestRefundShippingAndCap(t *testing.T) {
	p := mustParse(t, precedenceDoc)
	s, _ := accrue(t, p, "erin", ls("bag", "0.25"), "5.00")
	s, pl, err := p.Refund(s, nil, dec("5.00"))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "0", "-5.00", []string{})
	if !pl.Shipping.Equal(dec("-5")) || !s.Shipping.IsZero() {
		t.Errorf("shipping: plan %+v state %+v", pl, s)
	}
	// 0.25 at 10% earned 0.03; each 0.05 reverses 0.01 until nothing remains.
	for i, want := range []string{"-0.01", "-0.01", "-0.01", "0", "0"} {
		s, pl, err = p.Refund(s, ls("bag", "0.05"), decimal.Zero)
		if err != nil {
			t.Fatal(err)
		}
		wantPlan(t, pl, want, "-0.05", []string{want})
		if i == 3 && pl.Lines[0].Note != noteCapped {
			t.Errorf("refund %d note = %q, want %q", i, pl.Lines[0].Note, noteCapped)
		}
	}
}

func TestFlatDefault(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: {flat: "5.00"}, rules: [
	  {match: {product: belt}, rate: 10%}, {match: {product: gift-card}, participates: false}]},
	  upline: [{level: 1, rate: 50%, base: commission}]}`)
	up := UplineMember{Partner: "up", Eligible: true}

	s, pl := accrue(t, p, "x", ls("bag", "100.00", "belt", "100.00", "hat", "20.00"), "0", up)
	wantPlan(t, pl, "15.00", "220.00", []string{"0", "10.00", "0"}, "7.50")
	if !pl.Flat.Equal(dec("5")) || s.FlatSource != "commission.default" {
		t.Errorf("flat: %+v", pl)
	}
	// The flat lines go; the belt still participates, so the flat stays.
	s, pl, err := p.Refund(s, ls("bag", "100.00", "hat", "20.00"), decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "0", "-120.00", []string{"0", "0"})
	// Every participating line at zero: the flat goes, exactly.
	s, pl, err = p.Refund(s, ls("belt", "100.00"), decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "-15.00", "-100.00", []string{"-10.00"}, "-7.50")
	if !pl.Flat.Equal(dec("-5")) {
		t.Errorf("flat = %s", pl.Flat)
	}
	// An amendment bringing a flat line back pays the flat again.
	s, pl, err = p.Amend(s, ls("bag", "30.00"))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "5.00", "30.00", []string{"0"}, "2.50")
	_, pl = p.Cancel(s)
	wantPlan(t, pl, "-5.00", "-30.00", []string{"0"}, "-2.50")

	// Only non-participating or zero lines: no flat.
	_, pl = accrue(t, p, "x", ls("gift-card", "50.00", "bag", "0"), "0", up)
	wantPlan(t, pl, "0", "50.00", []string{"0", "0"}, "0")
}

func TestAmend(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%, rules: [{match: {product: gift-card}, participates: false}]},
	  tiers: [{name: Bronze, min_volume: "0", rate: 5%}, {name: Silver, min_volume: "1000", rate: 7%}],
	  upline: [{level: 1, rate: 2%, base: order_amount}]}`)
	m, _ := p.MergeLines(ls("bag", "100.00", "belt", "100.00"))
	s, _ := p.Accrue(AccrualFacts{Partner: "x", Tier: p.TierFor(dec("1500")), Lines: m,
		Upline: []UplineMember{{Partner: "up", Eligible: true}}})
	// bag down 50, belt gone, wallet new at the pinned Silver tier, gift-card
	// new but excluded: the refund part takes 150 of base (upline -3.00), the
	// accrual part adds 100 (upline +2.00), each rounded on its own.
	s2, pl, err := p.Amend(s, ls("bag", "50.00", "wallet", "100.00", "gift-card", "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "-3.50", "-40.00", []string{"-3.50", "-7.00", "7.00", "0"}, "-3.00", "2.00")
	if pl.Lines[1].Note != noteRemoved+"; "+noteExact || pl.Lines[2].Rate.Source != "tiers[Silver]" {
		t.Errorf("lines: %+v", pl.Lines)
	}
	if len(s.Lines) != 2 || !s.Lines[0].Amount.Equal(dec("100")) {
		t.Errorf("Amend changed its input: %+v", s.Lines)
	}
	// Back up: an increase earns the upline on the added base.
	_, pl, err = p.Amend(s2, ls("bag", "50.00", "wallet", "100.00", "gift-card", "10.00", "belt", "75.00"))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "5.25", "75.00", []string{"5.25"}, "1.50")
	if _, _, err := p.Amend(s, nil); err == nil || !strings.Contains(err.Error(), "lines: an order needs at least one line") {
		t.Errorf("empty amendment: %v", err)
	}
	if got, err := p.AmendLines(ls("b", "1", "b", "2")); err != nil || len(got) != 1 || !got[0].Amount.Equal(dec("3")) {
		t.Errorf("AmendLines = %+v, %v", got, err)
	}
}

func TestCancelAfterRefunds(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 12.5%}, upline: [{level: 1, rate: 3%, base: order_amount}, {level: 2, rate: 33.3333%, base: commission}]}`)
	s, acc := accrue(t, p, "x", ls("bag", "33.33", "belt", "0.99"), "4.99",
		UplineMember{Partner: "a", Eligible: true}, UplineMember{Partner: "b", Eligible: true})
	s, ref, err := p.Refund(s, ls("bag", "11.11"), dec("1.00"))
	if err != nil {
		t.Fatal(err)
	}
	s, can := p.Cancel(s)
	if !s.Commission().IsZero() || !s.Sales().IsZero() || !levelsTotal(s).IsZero() {
		t.Errorf("after cancel: %+v", s)
	}
	total := acc.Commission.Add(ref.Commission).Add(can.Commission)
	up := acc.UplineTotal().Add(ref.UplineTotal()).Add(can.UplineTotal())
	sales := acc.Sales.Add(ref.Sales).Add(can.Sales)
	if !total.IsZero() || !up.IsZero() || !sales.IsZero() {
		t.Errorf("sums after cancel: commission %s upline %s sales %s", total, up, sales)
	}
	if _, pl := p.Cancel(s); !pl.IsZero() {
		t.Errorf("second cancel: %+v", pl)
	}
}

func TestMergeLines(t *testing.T) {
	p := mustParse(t, "currency: USD")
	got, err := p.MergeLines(ls("bag", "1.00", "belt", "2.00", "bag", "3.50"))
	if err != nil || !reflect.DeepEqual([]string{got[0].Product, got[1].Product}, []string{"bag", "belt"}) ||
		!got[0].Amount.Equal(dec("4.5")) || len(got) != 2 {
		t.Errorf("MergeLines = %+v, %v", got, err)
	}
	_, err = p.MergeLines(ls("bag", "1.00", "belt", "-5.00"))
	if err == nil || err.Error() != "lines[1].amount: -5.00 is negative" {
		t.Errorf("err = %v", err)
	}
	if _, err := p.MergeLines(nil); err == nil {
		t.Error("no lines: want an error")
	}
}

func TestOrderStateJSON(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%}, tiers: [{name: Bronze, min_volume: "0", rate: 5%}],
	  upline: [{level: 1, rate: 2%, base: order_amount}]}`)
	m, _ := p.MergeLines(ls("bag", "100.00"))
	s, _ := p.Accrue(AccrualFacts{Partner: "x", Tier: &p.Tiers[0], Lines: m, Shipping: dec("5"),
		Upline: []UplineMember{{Partner: "up", Eligible: true}}})
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"tier_rate":"0.05"`, `"flat_source":""`, `"remaining":"2"`, `"source":"tiers[Bronze]"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("JSON %s lacks %s", raw, key)
		}
	}
	var back OrderState
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	_, a, err := p.Refund(s, ls("bag", "33.00"), dec("1"))
	if err != nil {
		t.Fatalf("Refund(original): %v", err)
	}
	_, b, err := p.Refund(back, ls("bag", "33.00"), dec("1"))
	if err != nil {
		t.Fatalf("Refund(round-tripped): %v", err)
	}
	// 33.00 of the bag at the pinned Bronze rate of 5%.
	if !a.Commission.Equal(dec("-1.65")) {
		t.Errorf("refund commission = %s, want -1.65", a.Commission)
	}
	if !reflect.DeepEqual(mustJSON(t, a), mustJSON(t, b)) {
		t.Errorf("plans differ after a JSON round trip:\n%s\n%s", mustJSON(t, a), mustJSON(t, b))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestCorruptStateIsRefused(t *testing.T) {
	p := mustParse(t, "currency: USD")
	s := OrderState{Lines: []LineState{{Product: "bag", Amount: dec("-1")}}}
	_, _, err := p.Refund(s, ls("bag", "0"), decimal.Zero)
	if err == nil || !strings.Contains(err.Error(), "order state") || !strings.Contains(err.Error(), "lines[0].amount") {
		t.Errorf("Refund of a corrupt state: err = %v, want an order state error", err)
	}
}
