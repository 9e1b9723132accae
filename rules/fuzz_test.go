package rules

import (
	"testing"

	"github.com/shopspring/decimal"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		specDoc,
		precedenceDoc,
		"currency: USD",
		`{"currency": "JPY", "commission": {"default": {"flat": "500"}}}`,
		"currency: USD\ntiers: [{name: A, min_volume: \"0\", rate: 1%}]\nupline: [{level: 1, rate: 2%, base: commission}]",
		"a: &x [*x]",
		"currency: USD\ncommission: {rules: [&r {match: {product: a}, rate: 1%}, *r]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a program and an error %v", err)
			}
			return
		}
		if p.Location == nil || p.Scale() < 0 || p.RateMax().GreaterThan(decimal.NewFromInt(1)) ||
			p.DueDay < 1 || p.DueDay > 28 || p.Hold < 0 || p.PayoutMinimum.IsNegative() {
			t.Fatalf("Parse accepted an invalid program: %+v", p)
		}
		if len(p.Tiers) > 0 && p.TierFor(decimal.Zero) != &p.Tiers[0] {
			t.Fatalf("TierFor(0) is not the first tier")
		}
		for i, l := range p.Upline {
			if l.Level != i+1 {
				t.Fatalf("upline[%d].Level = %d", i, l.Level)
			}
		}
	})
}

// fuzzPrograms are the fixed programs FuzzEvaluate drives: percentages with
// every kind of rule, tiers and both upline bases; and a flat default.
var fuzzPrograms = []string{
	precedenceDoc + `
tiers: [{name: Bronze, min_volume: "0", rate: 5%}, {name: Silver, min_volume: "300", rate: 7.5%}]
upline:
  - {level: 1, rate: 2%, base: order_amount}
  - {level: 2, rate: 33.3333%, base: commission}
  - {level: 3, rate: 10%, base: commission}
`,
	`
currency: USD
commission:
  default: {flat: "5.00"}
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
    - {match: {partner: carol, product: bag}, rate: 12.5%}
upline:
  - {level: 1, rate: 30%, base: commission}
  - {level: 2, rate: 2.5%, base: order_amount}
`,
	`{currency: JPY, commission: {default: 3.3%}, upline: [{level: 1, rate: 50%, base: commission}]}`,
}

// fuzzBytes hands out the fuzzer's bytes, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return c
}

// amount is up to 655.35 in minor units of the program's currency.
func (b *fuzzBytes) amount(p *Program) decimal.Decimal {
	v := int64(b.next())<<8 | int64(b.next())
	return decimal.New(v, -p.Scale())
}

func (b *fuzzBytes) lines(p *Program) []Line {
	products := []string{"bag", "belt", "gift-card", "wallet", "hat"}
	n := 1 + int(b.next()%4)
	out := make([]Line, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, Line{Product: products[b.next()%5], Amount: b.amount(p)})
	}
	return out
}

func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{3, 0, 0, 100, 1, 39, 16, 2, 0, 50, 7, 0, 0, 10, 0, 1, 0, 50, 2, 3, 0, 1, 0, 2})
	f.Add(uint8(1), uint8(2), []byte{2, 0, 0, 1, 1, 10, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 5})
	f.Add(uint8(2), uint8(1), []byte{1, 3, 255, 255, 0, 0, 0, 2, 0, 3, 1, 0, 0, 0, 1})
	programs := make([]*Program, len(fuzzPrograms))
	for i, doc := range fuzzPrograms {
		programs[i] = mustParse(f, doc)
	}
	f.Fuzz(func(t *testing.T, progSel, partnerSel uint8, data []byte) {
		p := programs[int(progSel)%len(programs)]
		partner := []string{"carol", "dave", "erin"}[partnerSel%3]
		in := fuzzBytes(data)
		lines, err := p.MergeLines(in.lines(p))
		if err != nil {
			t.Fatalf("MergeLines: %v", err)
		}
		var tier *Tier
		if progSel&0x80 != 0 {
			tier = p.TierFor(in.amount(p))
		}
		var chain []UplineMember
		for i, n := 0, int(in.next()%5); i < n; i++ {
			chain = append(chain, UplineMember{Partner: string(rune('a' + i)), Eligible: in.next()%4 != 0})
		}
		s, pl := p.Accrue(AccrualFacts{Partner: partner, Tier: tier, Lines: lines, Shipping: in.amount(p), Upline: chain})
		if pl.Commission.IsNegative() {
			t.Fatalf("accrual commission %s is negative", pl.Commission)
		}
		half := decimal.New(5, -p.Scale()-1)
		run := fuzzRun{p: p, s: s, commission: pl.Commission, sales: pl.Sales, upline: pl.UplineTotal(),
			tolerance: half.Mul(decimal.NewFromInt(int64(len(pl.Lines))))}
		run.check(t)
		const opsMax = 32
		for i := 0; i < opsMax && len(in) > 0; i++ {
			pl, err := run.event(&in)
			if err != nil {
				continue // a refused event changes nothing
			}
			run.add(pl)
			run.check(t)
		}
		var last Plan
		run.s, last = p.Cancel(run.s)
		run.add(last)
		run.check(t)
		if !run.s.Commission().IsZero() || !run.s.Sales().IsZero() || !levelsTotal(run.s).IsZero() {
			t.Fatalf("something remains after cancel: %+v", run.s)
		}
		if !run.commission.IsZero() || !run.sales.IsZero() || !run.upline.IsZero() {
			t.Fatalf("plans do not sum to zero: commission %s sales %s upline %s", run.commission, run.sales, run.upline)
		}
	})
}

// event applies the next fuzzed event to the order: a refund of a line, of
// an amount, an amendment or a cancellation. A refused event changes
// nothing and returns its error.
func (r *fuzzRun) event(in *fuzzBytes) (Plan, error) {
	var (
		pl   Plan
		next OrderState
		err  error
	)
	switch in.next() % 4 {
	case 0:
		return r.refund(in)
	case 1:
		next, pl, err = r.p.Refund(r.s, nil, in.amount(r.p))
	case 2:
		next, pl, err = r.p.Amend(r.s, in.lines(r.p))
	case 3:
		next, pl = r.p.Cancel(r.s)
	}
	if err == nil {
		r.s = next
	}
	return pl, err
}

// fuzzRun carries an order through fuzzed events and the running sums of
// its plans.
type fuzzRun struct {
	p                         *Program
	s                         OrderState
	commission, sales, upline decimal.Decimal
	tolerance                 decimal.Decimal // half a minor unit per rounding so far
}

// refund refunds a random part of one or two lines, often within what remains.
func (r *fuzzRun) refund(in *fuzzBytes) (Plan, error) {
	var lines []Line
	for i, n := 0, 1+int(in.next()%2); i < n && len(r.s.Lines) > 0; i++ {
		l := r.s.Lines[int(in.next())%len(r.s.Lines)]
		amount := in.amount(r.p)
		if in.next()%4 != 0 {
			amount = decimal.Min(amount, l.Amount)
		}
		lines = append(lines, Line{Product: l.Product, Amount: amount})
	}
	next, pl, err := r.p.Refund(r.s, lines, decimal.Zero)
	if err == nil {
		r.s = next
	}
	return pl, err
}

func (r *fuzzRun) add(pl Plan) {
	r.commission = r.commission.Add(pl.Commission)
	r.sales = r.sales.Add(pl.Sales)
	r.upline = r.upline.Add(pl.UplineTotal())
	half := decimal.New(5, -r.p.Scale()-1)
	r.tolerance = r.tolerance.Add(half.Mul(decimal.NewFromInt(int64(len(pl.Lines)))))
}

func (r *fuzzRun) check(t *testing.T) {
	t.Helper()
	if err := r.s.check(); err != nil {
		t.Fatal(err)
	}
	if !r.commission.Equal(r.s.Commission()) || !r.sales.Equal(r.s.Sales()) || !r.upline.Equal(levelsTotal(r.s)) {
		t.Fatalf("plans sum to commission %s sales %s upline %s; state has %s %s %s",
			r.commission, r.sales, r.upline, r.s.Commission(), r.s.Sales(), levelsTotal(r.s))
	}
	limit := r.s.Base().Mul(r.p.RateMax()).Add(r.s.Flat).Add(r.tolerance)
	if r.s.Commission().GreaterThan(limit) {
		t.Fatalf("commission %s exceeds base %s × %s + flat %s + rounding %s",
			r.s.Commission(), r.s.Base(), r.p.RateMax(), r.s.Flat, r.tolerance)
	}
}
