package rules

import (
	"errors"
	"slices"

	"github.com/shopspring/decimal"
)

// Notes a plan entry carries when its amount is not plainly
// Round(rate × amount).
const (
	noteExact      = "full line: exact remainder"
	noteLevelExact = "order base down to zero: exact remainder"
	noteCapped     = "refund capped at remaining"
	noteCancel     = "cancel: exact remainder"
	noteIneligible = "partner not eligible: earns nothing"
	noteNewLine    = "new line at the pinned version"
	noteRemoved    = "removed from the order"
)

// Accrue computes the accrual of an order: per line Round(rate × amount)
// at RateFor(partner, product, tier), the flat default once when a
// participating line with an amount falls to it, every line and the
// shipping as sales, and per configured upline level with a member
// Round(rate × base), zero for an ineligible member. The facts must be valid
// (CheckFacts: lines from MergeLines, shipping passing CheckAmount); Accrue
// panics otherwise, as that is a bug in the caller. A plan of zeros is still
// returned; the caller decides whether to post it.
func (p *Program) Accrue(f AccrualFacts) (OrderState, Plan) {
	p.mustFacts(f)
	s := OrderState{Partner: f.Partner, Shipping: f.Shipping}
	if f.Tier != nil {
		s.Tier, s.TierRate = f.Tier.Name, f.Tier.Rate
	}
	pl := Plan{Shipping: f.Shipping}
	for _, l := range f.Lines {
		lr := p.RateFor(f.Partner, l.Product, f.Tier)
		c := p.commission(lr, l.Amount)
		s.Lines = append(s.Lines, LineState{Product: l.Product, Amount: l.Amount, Commission: c, Rate: lr})
		pl.Lines = append(pl.Lines, LinePlan{Product: l.Product, AmountDelta: l.Amount, CommissionDelta: c, Rate: lr})
	}
	if s.hasFlatLine() {
		s.Flat, s.FlatSource, pl.Flat = p.flatAmount(), sourceDefault, p.flatAmount()
	}
	base, commission := s.Base(), s.Commission()
	for i, lvl := range p.Upline {
		if i >= len(f.Upline) {
			break // the chain ends here
		}
		m := f.Upline[i]
		lp := LevelPlan{Level: lvl.Level, Partner: m.Partner, Rate: lvl.Rate, Base: lvl.Base, BaseAmount: base}
		if lvl.Base == BaseCommission {
			lp.BaseAmount = commission
		}
		if m.Eligible {
			lp.Amount = p.Round(lvl.Rate.Mul(lp.BaseAmount))
		} else {
			lp.Amount, lp.Note = decimal.Zero, noteIneligible
		}
		s.Upline = append(s.Upline, LevelState{Level: lvl.Level, Partner: m.Partner, Rate: lvl.Rate,
			Base: lvl.Base, Eligible: m.Eligible, Remaining: lp.Amount})
		pl.Upline = append(pl.Upline, lp)
	}
	pl.total()
	settled(OrderState{}, s, pl)
	return s, pl
}

// mustFacts asserts the preconditions of Accrue (see CheckFacts).
func (p *Program) mustFacts(f AccrualFacts) {
	err := p.CheckFacts(f)
	assert(err == nil, "invalid accrual facts: %v", err)
}

// hasFlatLine reports whether some participating line with an amount falls
// to the flat default.
func (s OrderState) hasFlatLine() bool {
	for _, l := range s.Lines {
		if l.Rate.Participates && l.Rate.Flat && l.Amount.IsPositive() {
			return true
		}
	}
	return false
}

// Refund reverses a refund of lines and/or shipping at the pinned rates
// (SPEC §6). Every refunded product must be on the order and refund at most
// what remains of it; shipping at most what remains of it; otherwise a
// *FieldError ("lines[0].amount: refund 200.00 exceeds the 150.00 that
// remains of bag") and nothing changes. Per line the reversal is
// Round(rate × refunded), capped at what remains, and exactly what remains
// when the line is fully refunded. The flat is reversed when every
// participating line is down to zero. Per upline level the reversal is
// Round(rate × refunded base or reversed commission), capped at what remains,
// and exactly what remains once the order's base or commission is zero.
func (p *Program) Refund(s OrderState, lines []Line, shipping decimal.Decimal) (OrderState, Plan, error) {
	if err := s.check(); err != nil {
		return OrderState{}, Plan{}, err
	}
	refund, err := p.checkRefund(s.lines(), s.Shipping, lines, shipping)
	if err != nil {
		return OrderState{}, Plan{}, err
	}
	before := s
	s = s.clone()
	pl := Plan{Shipping: shipping.Neg()}
	s.Shipping = s.Shipping.Sub(shipping)
	for _, r := range refund {
		i := s.lineIndex(r.Product)
		pl.Lines = append(pl.Lines, p.shrink(&s.Lines[i], r.Amount))
	}
	p.finish(before, &s, &pl)
	return s, pl, nil
}

// Amend applies a new full line set (SPEC §6); shipping is unchanged. It is
// exactly a refund of every lowered or removed part followed by an accrual
// of every raised or new part, so one amendment posts what the same refund
// and an amendment that only raises would post as two events. The refund
// part shrinks lines as Refund does (Round(rate × difference), capped, exact
// for a line amended away) and settles the flat and the upline on its own:
// per level Round(rate × refunded base or reversed commission), capped at
// what remains, exactly what remains once the base or commission is zero.
// The accrual part grows a raised line at its pinned rate and adds a new
// product at RateFor(partner, product, pinned tier) of p, which must be the
// program version pinned on the order; it pays the flat again when a line
// falling to it is back, and earns per level Round(rate × added base or
// commission). Each part rounds the upline once per level.
func (p *Program) Amend(s OrderState, lines []Line) (OrderState, Plan, error) {
	if err := s.check(); err != nil {
		return OrderState{}, Plan{}, err
	}
	merged, err := p.MergeLines(lines)
	if err != nil {
		return OrderState{}, Plan{}, err
	}
	want := make(map[string]decimal.Decimal, len(merged))
	products := len(s.Lines)
	for _, l := range merged {
		want[l.Product] = l.Amount
		if s.lineIndex(l.Product) < 0 {
			products++
		}
	}
	// Lines amended away stay on the order at zero, so bound the union.
	if products > LinesMax {
		return OrderState{}, Plan{}, fieldErrorf("lines", "the order would have %d products; the limit is %d", products, LinesMax)
	}
	before := s
	s, down := p.amendDown(s, want)
	s, up := p.amendUp(s, want, merged)
	pl := down.then(up)
	settled(before, s, pl)
	return s, pl, nil
}

// amendDown is the refund part of an amendment: every line below its
// amount in want (absent = zero) shrinks to it, then the flat and the upline
// settle on that change alone. No lowered line is a zero plan.
func (p *Program) amendDown(s OrderState, want map[string]decimal.Decimal) (OrderState, Plan) {
	before := s
	s = s.clone()
	var pl Plan
	for i := range s.Lines {
		ls := &s.Lines[i]
		amount, kept := want[ls.Product]
		if !amount.LessThan(ls.Amount) {
			continue
		}
		lp := p.shrink(ls, ls.Amount.Sub(amount))
		if !kept {
			lp.Note = joinNotes(noteRemoved, lp.Note)
		}
		pl.Lines = append(pl.Lines, lp)
	}
	if len(pl.Lines) > 0 {
		p.finish(before, &s, &pl)
	}
	return s, pl
}

// amendUp is the accrual part of an amendment: every line below its amount
// in want grows to it, every product of merged not on the order is added,
// then the flat and the upline settle on that change alone.
func (p *Program) amendUp(s OrderState, want map[string]decimal.Decimal, merged []Line) (OrderState, Plan) {
	before := s
	s = s.clone()
	var pl Plan
	for i := range s.Lines {
		ls := &s.Lines[i]
		if diff := want[ls.Product].Sub(ls.Amount); diff.IsPositive() {
			pl.Lines = append(pl.Lines, p.grow(ls, diff))
		}
	}
	tier := s.pinnedTier()
	for _, l := range merged {
		if s.lineIndex(l.Product) >= 0 {
			continue
		}
		s.Lines = append(s.Lines, LineState{Product: l.Product, Rate: p.RateFor(s.Partner, l.Product, tier)})
		lp := p.grow(&s.Lines[len(s.Lines)-1], l.Amount)
		lp.Note = noteNewLine
		pl.Lines = append(pl.Lines, lp)
	}
	p.finish(before, &s, &pl)
	return s, pl
}

// Cancel reverses exactly everything that remains of the order: every
// line's amount and commission, the shipping, the flat and every upline
// level's bonus. Cancelling a state that is already zero returns a zero plan.
// A corrupt state (see OrderState) panics.
func (p *Program) Cancel(s OrderState) (OrderState, Plan) {
	err := s.check()
	assert(err == nil, "cancel: %v", err)
	before := s
	s = s.clone()
	pl := Plan{Shipping: s.Shipping.Neg(), Flat: s.Flat.Neg()}
	for i := range s.Lines {
		ls := &s.Lines[i]
		if ls.Amount.IsZero() && ls.Commission.IsZero() {
			continue
		}
		pl.Lines = append(pl.Lines, LinePlan{Product: ls.Product, AmountDelta: ls.Amount.Neg(),
			CommissionDelta: ls.Commission.Neg(), Rate: ls.Rate, Note: noteCancel})
		ls.Amount, ls.Commission = decimal.Zero, decimal.Zero
	}
	for i := range s.Upline {
		lv := &s.Upline[i]
		if lv.Remaining.IsZero() {
			continue
		}
		lp := LevelPlan{Level: lv.Level, Partner: lv.Partner, Rate: lv.Rate, Base: lv.Base,
			BaseAmount: before.Base().Neg(), Amount: lv.Remaining.Neg(), Note: noteCancel}
		if lv.Base == BaseCommission {
			lp.BaseAmount = before.Commission().Neg()
		}
		pl.Upline = append(pl.Upline, lp)
		lv.Remaining = decimal.Zero
	}
	s.Shipping, s.Flat = decimal.Zero, decimal.Zero
	pl.total()
	settled(before, s, pl)
	return s, pl
}

// RefundLines applies a refund to an order that has not accrued: the same
// checks as Refund, on lines and shipping only. Lines refunded in full stay,
// with a zero amount.
func (p *Program) RefundLines(lines []Line, shipping decimal.Decimal, refund []Line, refundShipping decimal.Decimal) ([]Line, decimal.Decimal, error) {
	merged, err := p.checkRefund(lines, shipping, refund, refundShipping)
	if err != nil {
		return nil, decimal.Zero, err
	}
	out := append([]Line(nil), lines...)
	for _, r := range merged {
		for i := range out {
			if out[i].Product == r.Product {
				out[i].Amount = out[i].Amount.Sub(r.Amount)
			}
		}
	}
	return out, shipping.Sub(refundShipping), nil
}

// AmendLines applies an amendment to an order that has not accrued: the new
// line set, validated and merged as by MergeLines, replaces the order's.
func (p *Program) AmendLines(newLines []Line) ([]Line, error) {
	return p.MergeLines(newLines)
}

// checkRefund validates a refund against what remains and returns the
// refund's lines merged by product.
func (p *Program) checkRefund(remaining []Line, remainingShipping decimal.Decimal, refund []Line, shipping decimal.Decimal) ([]Line, error) {
	if len(refund) == 0 && shipping.IsZero() {
		return nil, fieldErrorf("lines", "nothing to refund: give lines, shipping or both")
	}
	merged, first, err := p.mergeLines(refund)
	if err != nil {
		return nil, err
	}
	var errs []error
	if err := p.CheckAmount("shipping", shipping); err != nil {
		errs = append(errs, err)
	} else if shipping.GreaterThan(remainingShipping) {
		errs = append(errs, fieldErrorf("shipping", "refund %s exceeds the %s that remains of shipping",
			p.Format(shipping), p.Format(remainingShipping)))
	}
	for j, r := range merged {
		path := indexPath("lines", first[j])
		k := -1
		for i := range remaining {
			if remaining[i].Product == r.Product {
				k = i
				break
			}
		}
		switch {
		case k < 0:
			errs = append(errs, fieldErrorf(joinPath(path, "product"), "%s is not on this order", quote(r.Product)))
		case r.Amount.GreaterThan(remaining[k].Amount):
			errs = append(errs, fieldErrorf(joinPath(path, "amount"), "refund %s exceeds the %s that remains of %s",
				p.Format(r.Amount), p.Format(remaining[k].Amount), r.Product))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return merged, nil
}

// shrink takes amount off a line: Round(rate × amount) capped at what
// remains, or exactly what remains when the line is fully refunded.
func (p *Program) shrink(ls *LineState, amount decimal.Decimal) LinePlan {
	assert(!amount.IsNegative() && amount.LessThanOrEqual(ls.Amount), "shrink %s of %s", amount, ls.Amount)
	lp := LinePlan{Product: ls.Product, AmountDelta: amount.Neg(), Rate: ls.Rate}
	reversal := p.commission(ls.Rate, amount)
	switch {
	case amount.Equal(ls.Amount):
		reversal, lp.Note = ls.Commission, noteExact
	case reversal.GreaterThan(ls.Commission):
		reversal, lp.Note = ls.Commission, noteCapped
	}
	lp.CommissionDelta = reversal.Neg()
	ls.Amount = ls.Amount.Sub(amount)
	ls.Commission = ls.Commission.Sub(reversal)
	return lp
}

// grow adds amount to a line at its pinned rate.
func (p *Program) grow(ls *LineState, amount decimal.Decimal) LinePlan {
	added := p.commission(ls.Rate, amount)
	ls.Amount = ls.Amount.Add(amount)
	ls.Commission = ls.Commission.Add(added)
	return LinePlan{Product: ls.Product, AmountDelta: amount, CommissionDelta: added, Rate: ls.Rate}
}

// then joins the plan of the event's next part to pl: lines and upline
// levels in order (a level may appear once per part), sums totalled again.
func (pl Plan) then(next Plan) Plan {
	pl.Lines = append(slices.Clip(pl.Lines), next.Lines...)
	pl.Upline = append(slices.Clip(pl.Upline), next.Upline...)
	pl.Shipping = pl.Shipping.Add(next.Shipping)
	pl.Flat = pl.Flat.Add(next.Flat)
	pl.total()
	return pl
}

// finish settles the flat and the upline after the lines of s changed, and
// totals the plan.
func (p *Program) finish(before OrderState, s *OrderState, pl *Plan) {
	switch {
	case s.Flat.IsPositive() && s.Base().IsZero():
		pl.Flat, s.Flat = s.Flat.Neg(), decimal.Zero
	case s.Flat.IsZero() && s.hasFlatLine() && p.flatAmount().IsPositive():
		s.Flat, s.FlatSource, pl.Flat = p.flatAmount(), sourceDefault, p.flatAmount()
	}
	pl.Upline = p.adjustUpline(s, s.Base().Sub(before.Base()), s.Commission().Sub(before.Commission()))
	pl.total()
	settled(before, *s, *pl)
}

// adjustUpline applies the net change of the order's base and commission
// to every eligible level: an increase earns Round(rate × change); a
// decrease reverses Round(rate × change) capped at what remains, or exactly
// what remains once the level's base is zero.
func (p *Program) adjustUpline(s *OrderState, baseDelta, commissionDelta decimal.Decimal) []LevelPlan {
	base, commission := s.Base(), s.Commission()
	var out []LevelPlan
	for i := range s.Upline {
		lv := &s.Upline[i]
		change, total := baseDelta, base
		if lv.Base == BaseCommission {
			change, total = commissionDelta, commission
		}
		if change.IsZero() || !lv.Eligible {
			continue
		}
		lp := LevelPlan{Level: lv.Level, Partner: lv.Partner, Rate: lv.Rate, Base: lv.Base, BaseAmount: change}
		switch {
		case change.IsPositive():
			lp.Amount = p.Round(lv.Rate.Mul(change))
		case total.IsZero():
			lp.Amount, lp.Note = lv.Remaining.Neg(), noteLevelExact
		default:
			reversal := p.Round(lv.Rate.Mul(change.Neg()))
			if reversal.GreaterThan(lv.Remaining) {
				reversal, lp.Note = lv.Remaining, noteCapped
			}
			lp.Amount = reversal.Neg()
		}
		lv.Remaining = lv.Remaining.Add(lp.Amount)
		out = append(out, lp)
	}
	return out
}

// lines returns what remains of each line, as Lines.
func (s OrderState) lines() []Line {
	out := make([]Line, len(s.Lines))
	for i, l := range s.Lines {
		out[i] = Line{Product: l.Product, Amount: l.Amount}
	}
	return out
}

// lineIndex returns the index of product in s.Lines, -1 if absent.
func (s OrderState) lineIndex(product string) int {
	for i := range s.Lines {
		if s.Lines[i].Product == product {
			return i
		}
	}
	return -1
}

func joinNotes(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
