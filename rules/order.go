package rules

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Line is one product of an order and what the customer paid for it, after
// discounts, without shipping or tax.
type Line struct {
	Product string          `json:"product"`
	Amount  decimal.Decimal `json:"amount"`
}

// MergeLines validates an order's lines and adds up lines of the same
// product, keeping the order in which products were first seen. An order
// needs at least one line and at most LinesMax; every product is non-empty
// and every amount passes CheckAmount. Errors are *FieldError values
// ("lines[1].amount: -5.00 is negative"), several joined.
func (p *Program) MergeLines(lines []Line) ([]Line, error) {
	if len(lines) == 0 {
		return nil, fieldErrorf("lines", "an order needs at least one line")
	}
	merged, _, err := p.mergeLines(lines)
	return merged, err
}

// mergeLines validates and merges lines; first[i] is the input index where
// merged[i]'s product first appears, so later errors can name it.
func (p *Program) mergeLines(lines []Line) (merged []Line, first []int, err error) {
	if len(lines) > LinesMax {
		return nil, nil, fieldErrorf("lines", "%d lines; the limit is %d", len(lines), LinesMax)
	}
	var errs []error
	at := make(map[string]int, len(lines))
	for i, l := range lines {
		path := indexPath("lines", i)
		switch {
		case l.Product == "":
			errs = append(errs, fieldErrorf(joinPath(path, "product"), "is required"))
			continue
		case len(l.Product) > IDLenMax:
			errs = append(errs, fieldErrorf(joinPath(path, "product"), "is longer than %d bytes", IDLenMax))
			continue
		}
		if err := p.CheckAmount(joinPath(path, "amount"), l.Amount); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, ok := at[l.Product]; ok {
			sum := merged[j].Amount.Add(l.Amount)
			if err := p.CheckAmount(joinPath(path, "amount"), sum); err != nil {
				errs = append(errs, fieldErrorf(joinPath(path, "amount"), "lines of product %s add up to more than the maximum amount", quote(l.Product)))
				continue
			}
			merged[j].Amount = sum
			continue
		}
		at[l.Product] = len(merged)
		merged = append(merged, Line{Product: l.Product, Amount: l.Amount})
		first = append(first, i)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return merged, first, nil
}

// UplineMember is one partner of the upline chain, level 1 (the parent)
// first, as the caller walked it at the order's time.
type UplineMember struct {
	Partner string
	// Eligible is false for a suspended partner: it earns nothing at its
	// level, and the levels above it are unchanged.
	Eligible bool
}

// AccrualFacts are the facts an order accrues on.
type AccrualFacts struct {
	Partner  string
	Tier     *Tier           // the tier pinned for the order, nil = none
	Lines    []Line          // from MergeLines
	Shipping decimal.Decimal // validated with CheckAmount
	Upline   []UplineMember  // may be longer than the program's levels
}

// LineState is what remains of one line of an accrued order.
type LineState struct {
	Product    string          `json:"product"`
	Amount     decimal.Decimal `json:"amount"`     // what remains of the line (its commission base)
	Commission decimal.Decimal `json:"commission"` // commission that remains on the line
	Rate       LineRate        `json:"rate"`       // pinned at accrual (or when the line was added)
}

// LevelState is what remains of one upline level's bonus on an order.
type LevelState struct {
	Level     int             `json:"level"`
	Partner   string          `json:"partner"`
	Rate      decimal.Decimal `json:"rate"`
	Base      string          `json:"base"`
	Eligible  bool            `json:"eligible"`
	Remaining decimal.Decimal `json:"remaining"` // bonus that remains for this level
}

// OrderState is everything that remains of an accrued order, with the rates
// pinned at accrual. It is the input of every later event on the order and
// is meant to be stored (JSON) with it.
type OrderState struct {
	Partner    string          `json:"partner"`
	Tier       string          `json:"tier"` // pinned tier name, "" if none
	TierRate   decimal.Decimal `json:"tier_rate"`
	Lines      []LineState     `json:"lines"`
	Shipping   decimal.Decimal `json:"shipping"`    // remaining shipping
	Flat       decimal.Decimal `json:"flat"`        // flat commission that remains
	FlatSource string          `json:"flat_source"` // "commission.default" when a flat was paid
	Upline     []LevelState    `json:"upline"`
}

// Commission returns the direct commission that remains: lines plus flat.
func (s OrderState) Commission() decimal.Decimal {
	sum := s.Flat
	for _, l := range s.Lines {
		sum = sum.Add(l.Commission)
	}
	return sum
}

// Base returns the commission base that remains: the amounts of the
// participating lines.
func (s OrderState) Base() decimal.Decimal {
	sum := decimal.Zero
	for _, l := range s.Lines {
		if l.Rate.Participates {
			sum = sum.Add(l.Amount)
		}
	}
	return sum
}

// Sales returns the attributed sales that remain: every line plus shipping.
func (s OrderState) Sales() decimal.Decimal {
	sum := s.Shipping
	for _, l := range s.Lines {
		sum = sum.Add(l.Amount)
	}
	return sum
}

// clone copies s so that an operation never writes through the caller's
// slices.
func (s OrderState) clone() OrderState {
	s.Lines = append([]LineState(nil), s.Lines...)
	s.Upline = append([]LevelState(nil), s.Upline...)
	return s
}

// pinnedTier rebuilds the tier pinned on the order, for lines an amendment
// adds.
func (s OrderState) pinnedTier() *Tier {
	if s.Tier == "" {
		return nil
	}
	return &Tier{Name: s.Tier, Rate: s.TierRate}
}

// check reports the first broken invariant of a state: a negative
// remaining value, a duplicate or empty product, an unknown level base.
func (s OrderState) check() error {
	nonNeg := func(what string, d decimal.Decimal) error {
		if d.IsNegative() {
			return fmt.Errorf("rules: order state: %s is negative (%s)", what, d)
		}
		return nil
	}
	seen := make(map[string]bool, len(s.Lines))
	errs := []error{nonNeg("shipping", s.Shipping), nonNeg("flat", s.Flat)}
	for i, l := range s.Lines {
		if l.Product == "" || seen[l.Product] {
			errs = append(errs, fmt.Errorf("rules: order state: lines[%d] has an empty or repeated product %q", i, l.Product))
		}
		seen[l.Product] = true
		errs = append(errs, nonNeg(fmt.Sprintf("lines[%d].amount", i), l.Amount),
			nonNeg(fmt.Sprintf("lines[%d].commission", i), l.Commission),
			nonNeg(fmt.Sprintf("lines[%d].rate", i), l.Rate.Rate))
	}
	for i, lv := range s.Upline {
		errs = append(errs, nonNeg(fmt.Sprintf("upline[%d].remaining", i), lv.Remaining),
			nonNeg(fmt.Sprintf("upline[%d].rate", i), lv.Rate))
		if lv.Base != BaseOrderAmount && lv.Base != BaseCommission {
			errs = append(errs, fmt.Errorf("rules: order state: upline[%d] has base %q", i, lv.Base))
		}
	}
	return errors.Join(errs...)
}

// LinePlan is the change of one line in a Plan.
type LinePlan struct {
	Product         string          `json:"product"`
	AmountDelta     decimal.Decimal `json:"amount_delta"`
	CommissionDelta decimal.Decimal `json:"commission_delta"`
	Rate            LineRate        `json:"rate"`
	Note            string          `json:"note,omitempty"` // how CommissionDelta was decided when not by Round(rate × AmountDelta) alone
}

// LevelPlan is the change of one upline level's bonus in a Plan.
type LevelPlan struct {
	Level      int             `json:"level"`
	Partner    string          `json:"partner"`
	Amount     decimal.Decimal `json:"amount"` // signed: positive = earned, negative = reversed
	Rate       decimal.Decimal `json:"rate"`
	Base       string          `json:"base"`
	BaseAmount decimal.Decimal `json:"base_amount"` // signed; what Rate was applied to
	Note       string          `json:"note,omitempty"`
}

// Plan is the money consequence of one order event, signed: positive is
// earned or added, negative is reversed. Entries with a zero amount are
// provenance only.
type Plan struct {
	Sales      decimal.Decimal `json:"sales"`      // change of attributed sales: lines + shipping
	Shipping   decimal.Decimal `json:"shipping"`   // change of shipping (included in Sales)
	Commission decimal.Decimal `json:"commission"` // change of the direct partner's commission: lines + flat
	Flat       decimal.Decimal `json:"flat"`       // change of the flat part (included in Commission)
	Lines      []LinePlan      `json:"lines"`
	Upline     []LevelPlan     `json:"upline"`
}

// IsZero reports whether the plan moves no money at all.
func (pl Plan) IsZero() bool {
	if !pl.Sales.IsZero() || !pl.Commission.IsZero() || !pl.Flat.IsZero() || !pl.Shipping.IsZero() {
		return false
	}
	for _, l := range pl.Lines {
		if !l.AmountDelta.IsZero() || !l.CommissionDelta.IsZero() {
			return false
		}
	}
	for _, lv := range pl.Upline {
		if !lv.Amount.IsZero() {
			return false
		}
	}
	return true
}

// UplineTotal returns the sum of the plan's upline amounts.
func (pl Plan) UplineTotal() decimal.Decimal {
	sum := decimal.Zero
	for _, lv := range pl.Upline {
		sum = sum.Add(lv.Amount)
	}
	return sum
}

// total fills Sales and Commission from the line deltas, shipping and flat.
func (pl *Plan) total() {
	pl.Sales, pl.Commission = pl.Shipping, pl.Flat
	for _, l := range pl.Lines {
		pl.Sales = pl.Sales.Add(l.AmountDelta)
		pl.Commission = pl.Commission.Add(l.CommissionDelta)
	}
}

// settled asserts the postconditions of every operation: nothing that
// remains is negative, and the plan moved exactly the difference between
// the states.
func settled(before, after OrderState, pl Plan) {
	err := after.check()
	assert(err == nil, "%v", err)
	sum := pl.Flat
	for _, l := range pl.Lines {
		sum = sum.Add(l.CommissionDelta)
	}
	assert(pl.Commission.Equal(sum), "plan commission %s != lines + flat %s", pl.Commission, sum)
	assert(after.Commission().Sub(before.Commission()).Equal(pl.Commission), "commission moved %s, plan says %s",
		after.Commission().Sub(before.Commission()), pl.Commission)
	assert(after.Sales().Sub(before.Sales()).Equal(pl.Sales), "sales moved %s, plan says %s",
		after.Sales().Sub(before.Sales()), pl.Sales)
	assert(levelsTotal(after).Sub(levelsTotal(before)).Equal(pl.UplineTotal()), "upline moved %s, plan says %s",
		levelsTotal(after).Sub(levelsTotal(before)), pl.UplineTotal())
}

func levelsTotal(s OrderState) decimal.Decimal {
	sum := decimal.Zero
	for _, lv := range s.Upline {
		sum = sum.Add(lv.Remaining)
	}
	return sum
}
