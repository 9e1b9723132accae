package rules

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

// amendPrograms are the programs the amendment property runs on: tiers and
// three levels on both bases, a flat default with per-line rules, a
// currency without minor units, and a flat default beside tiers with small
// rates that round often.
var amendPrograms = append(slices.Clone(fuzzPrograms), `
currency: USD
commission:
  default: {flat: "1.25"}
  rules:
    - {match: {product: belt}, rate: 7.5%}
    - {match: {product: gift-card}, participates: false}
tiers: [{name: Bronze, min_volume: "0", rate: 3.3%}, {name: Silver, min_volume: "500", rate: 4.45%}]
upline:
  - {level: 1, rate: 2.5%, base: order_amount}
  - {level: 2, rate: 12.5%, base: commission}
  - {level: 3, rate: 1%, base: order_amount}
`)

// postings sums a plan's money by the account it moves: the partner's
// sales, its commission and each upline partner's bonus.
func postings(plans ...Plan) map[string]string {
	sums := map[string]decimal.Decimal{}
	add := func(account string, d decimal.Decimal) { sums[account] = sums[account].Add(d) }
	for _, pl := range plans {
		add("sales", pl.Sales)
		add("commission", pl.Commission)
		for _, lv := range pl.Upline {
			add("upline:"+lv.Partner, lv.Amount)
		}
	}
	out := make(map[string]string, len(sums))
	for k, v := range sums {
		if !v.IsZero() {
			out[k] = v.StringFixed(2)
		}
	}
	return out
}

// refundThenRaise sends an amendment as two events: a refund of every
// lowered or removed part, then an amendment that only raises or adds.
func refundThenRaise(p *Program, s OrderState, lines []Line) (OrderState, []Plan, error) {
	merged, err := p.MergeLines(lines)
	if err != nil {
		return OrderState{}, nil, err
	}
	want := map[string]decimal.Decimal{}
	for _, l := range merged {
		want[l.Product] = l.Amount
	}
	var down []Line
	for _, l := range s.Lines {
		if w := want[l.Product]; w.LessThan(l.Amount) {
			down = append(down, Line{Product: l.Product, Amount: l.Amount.Sub(w)})
		}
	}
	var plans []Plan
	if len(down) > 0 {
		var pl Plan
		if s, pl, err = p.Refund(s, down, decimal.Zero); err != nil {
			return OrderState{}, nil, fmt.Errorf("refund part: %w", err)
		}
		plans = append(plans, pl)
	}
	s, pl, err := p.Amend(s, merged)
	if err != nil {
		return OrderState{}, nil, fmt.Errorf("raise part: %w", err)
	}
	return s, append(plans, pl), nil
}

// randomAmendment lowers, keeps, raises or removes each line of s and may
// add new products; it has at least one line.
func randomAmendment(rng *rand.Rand, p *Program, s OrderState) []Line {
	cents := func(n int) decimal.Decimal { return decimal.New(int64(rng.IntN(n)), -p.Scale()) }
	var out []Line
	for _, l := range s.Lines {
		switch rng.IntN(5) {
		case 0: // removed
		case 1:
			out = append(out, Line{Product: l.Product, Amount: l.Amount})
		case 2:
			out = append(out, Line{Product: l.Product, Amount: decimal.Max(decimal.Zero, l.Amount.Sub(cents(3000)))})
		default:
			out = append(out, Line{Product: l.Product, Amount: l.Amount.Add(cents(3000))})
		}
	}
	for _, product := range []string{"bag", "belt", "gift-card", "wallet", "hat", "scarf"} {
		if slices.ContainsFunc(s.Lines, func(l LineState) bool { return l.Product == product }) {
			continue
		}
		if rng.IntN(4) == 0 || len(out) == 0 {
			out = append(out, Line{Product: product, Amount: cents(20000)})
		}
	}
	if len(out) == 0 { // every product was on the order and removed
		out = append(out, Line{Product: s.Lines[0].Product, Amount: cents(20000)})
	}
	return out
}

// randomOrder accrues an order of one to four lines, with a random tier,
// shipping and an upline of up to four members, some ineligible.
func randomOrder(rng *rand.Rand, p *Program) (OrderState, Plan) {
	products := []string{"bag", "belt", "gift-card", "wallet", "hat"}
	var lines []Line
	for i, n := 0, 1+rng.IntN(4); i < n; i++ {
		lines = append(lines, Line{Product: products[rng.IntN(len(products))], Amount: decimal.New(int64(rng.IntN(40000)), -p.Scale())})
	}
	merged, err := p.MergeLines(lines)
	if err != nil {
		panic(err)
	}
	var tier *Tier
	if len(p.Tiers) > 0 && rng.IntN(2) == 0 {
		tier = p.TierFor(decimal.NewFromInt(int64(rng.IntN(1000))))
	}
	var chain []UplineMember
	for i, n := 0, rng.IntN(5); i < n; i++ {
		chain = append(chain, UplineMember{Partner: fmt.Sprintf("up%d", i+1), Eligible: rng.IntN(5) != 0})
	}
	return p.Accrue(AccrualFacts{Partner: "x", Tier: tier, Lines: merged,
		Shipping: decimal.New(int64(rng.IntN(1500)), -p.Scale()), Upline: chain})
}

// TestAmendIsRefundThenRaise is the property of SPEC §6: for random orders
// and histories of amendments (with refunds between them), one amendment
// posts exactly what the same refund of the lowered and removed parts and
// an amendment that only raises or adds post as two events, and leaves the
// same order state, under every program above.
func TestAmendIsRefundThenRaise(t *testing.T) {
	const ordersMax, amendmentsMax = 1000, 6
	rng := rand.New(rand.NewPCG(7, 2026))
	programs := make([]*Program, len(amendPrograms))
	for i, doc := range amendPrograms {
		programs[i] = mustParse(t, doc)
	}
	amendments, differ := 0, 0
	for i := 0; i < ordersMax; i++ {
		p := programs[i%len(programs)]
		s, _ := randomOrder(rng, p)
		for j := 0; j < amendmentsMax; j++ {
			lines := randomAmendment(rng, p, s)
			one, pl, err := p.Amend(s, lines)
			if err != nil {
				t.Fatalf("order %d amendment %d: %v", i, j, err)
			}
			two, plans, err := refundThenRaise(p, s, lines)
			if err != nil {
				t.Fatalf("order %d amendment %d as two events: %v", i, j, err)
			}
			amendments++
			got, want := postings(pl), postings(plans...)
			if fmt.Sprint(got) != fmt.Sprint(want) || stateJSON(t, one) != stateJSON(t, two) {
				if differ++; differ <= 3 {
					t.Errorf("order %d amendment %d (%s) %v: one event posts %v, two post %v\nstate one %s\nstate two %s",
						i, j, amendPrograms[i%len(amendPrograms)][:20], lines, got, want, stateJSON(t, one), stateJSON(t, two))
				}
			}
			s = one
			if rng.IntN(3) == 0 && s.Base().IsPositive() {
				s = refundSome(t, rng, p, s)
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d amendments differ from their refund and raise sent as two events", differ, amendments)
	}
}

// refundSome refunds part of a random line with something left, to vary
// the histories between amendments.
func refundSome(t *testing.T, rng *rand.Rand, p *Program, s OrderState) OrderState {
	t.Helper()
	l := s.Lines[rng.IntN(len(s.Lines))]
	if !l.Amount.IsPositive() {
		return s
	}
	amount := decimal.New(1+rng.Int64N(l.Amount.Shift(int32(p.Scale())).IntPart()), -p.Scale())
	next, _, err := p.Refund(s, []Line{{Product: l.Product, Amount: amount}}, decimal.Zero)
	if err != nil {
		t.Fatalf("refund %s of %s: %v", amount, l.Product, err)
	}
	return next
}

func stateJSON(t *testing.T, s OrderState) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAmendSplitScenario pins the figures of the public scenario
// 05-amend-split-coupons: bag 10.30 → 10.00 and belt 10.00 → 10.50 at 2.5%
// order_amount is an upline refund of Round(0.0075) = 0.01 and an upline
// accrual of Round(0.0125) = 0.01, not Round(2.5% × 0.20) = 0.01 on the net.
func TestAmendSplitScenario(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%}, upline: [{level: 1, rate: 2.5%, base: order_amount}]}`)
	s, acc := accrue(t, p, "bob", ls("bag", "10.30", "belt", "10.00"), "0", UplineMember{Partner: "alice", Eligible: true})
	wantPlan(t, acc, "2.03", "20.30", []string{"1.03", "1.00"}, "0.51")
	_, pl, err := p.Amend(s, ls("bag", "10.00", "belt", "10.50"))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, pl, "0.02", "0.20", []string{"-0.03", "0.05"}, "-0.01", "0.01")
	if pl.Upline[0].BaseAmount.String() != "-0.3" || pl.Upline[1].BaseAmount.String() != "0.5" {
		t.Errorf("upline bases = %s, %s; want -0.30 (refund part), 0.50 (accrual part)", pl.Upline[0].BaseAmount, pl.Upline[1].BaseAmount)
	}
}

// TestAmendFlatDefault pins the flat default under amendments (SPEC §4:
// reversed only when every participating line is fully refunded): the
// refund part reverses it when it takes every participating line to zero,
// and the accrual part pays it again when a line falling to it is added.
func TestAmendFlatDefault(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: {flat: "5.00"}, rules: [
	  {match: {product: belt}, rate: 10%}, {match: {product: gift-card}, participates: false}]},
	  upline: [{level: 1, rate: 33.3333%, base: commission}]}`)
	up := UplineMember{Partner: "up", Eligible: true}
	tests := []struct {
		name          string
		order, amend  []Line
		flat, commish string
		upline        []string
	}{
		{"a flat line lowered: the flat stays", ls("bag", "100.00"), ls("bag", "40.00"), "0", "0", nil},
		{"the flat line removed, a rate line stays: the flat stays", ls("bag", "100.00", "belt", "10.00"), ls("belt", "10.00"), "0", "0", nil},
		{"one flat line swapped for another: reversed, paid again", ls("bag", "100.00"), ls("wallet", "20.00"), "0", "0", []string{"-1.67", "1.67"}},
		{"every participating line removed: reversed", ls("bag", "100.00", "belt", "10.00"), ls("gift-card", "50.00"), "-5.00", "-6.00", []string{"-2.00"}},
		{"a rate line raised beside the flat", ls("bag", "100.00", "belt", "10.00"), ls("bag", "100.00", "belt", "20.00"), "0", "1.00", []string{"0.33"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := accrue(t, p, "x", tt.order, "0", up)
			next, pl, err := p.Amend(s, tt.amend)
			if err != nil {
				t.Fatal(err)
			}
			if !pl.Flat.Equal(dec(tt.flat)) || !pl.Commission.Equal(dec(tt.commish)) {
				t.Errorf("flat %s commission %s, want %s %s", pl.Flat, pl.Commission, tt.flat, tt.commish)
			}
			var upline []string
			for _, lv := range pl.Upline {
				upline = append(upline, lv.Amount.StringFixed(2))
			}
			if fmt.Sprint(upline) != fmt.Sprint(tt.upline) {
				t.Errorf("upline %v, want %v", upline, tt.upline)
			}
			two, plans, err := refundThenRaise(p, s, tt.amend)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := postings(pl), postings(plans...); fmt.Sprint(got) != fmt.Sprint(want) || stateJSON(t, next) != stateJSON(t, two) {
				t.Errorf("one event posts %v, two post %v", got, want)
			}
		})
	}
}
