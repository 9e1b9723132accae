package rules

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// LineRate is the resolved rate of one order line, with its provenance.
type LineRate struct {
	// Participates is false for a product excluded by participates: false:
	// the line earns nothing and is not part of the commission base.
	Participates bool `json:"participates"`
	// Rate is the fraction applied to the line's amount; zero when the
	// line falls to a flat default.
	Rate decimal.Decimal `json:"rate"`
	// Flat is true when the line falls to a flat default: it earns through
	// the order's single flat amount, not per line.
	Flat bool `json:"flat"`
	// Source names the rule that decided: "commission.rules[3]",
	// "tiers[Silver]" or "commission.default".
	Source string `json:"source"`
}

// Source names of the places a rate can come from.
const (
	sourceDefault = "commission.default"
)

func ruleSource(i int) string { return fmt.Sprintf("commission.rules[%d]", i) }

func tierSource(name string) string { return fmt.Sprintf("tiers[%s]", name) }

// RateFor resolves the rate of a product for a partner (SPEC §4). A rule
// with participates: false for the product wins over everything. Otherwise
// the most specific rule wins: partner+product, then partner, then product;
// then the tier (when tier is not nil), then the default. Among rules of
// equal specificity the first in the document wins.
func (p *Program) RateFor(partner, product string, tier *Tier) LineRate {
	best, bestRank := -1, 0
	for i, r := range p.Commission.Rules {
		rank := r.rank(partner, product)
		if rank == 0 {
			continue
		}
		if !r.Participates {
			return LineRate{Participates: false, Rate: decimal.Zero, Source: ruleSource(i)}
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	switch {
	case best >= 0:
		return LineRate{Participates: true, Rate: p.Commission.Rules[best].Rate, Source: ruleSource(best)}
	case tier != nil:
		return LineRate{Participates: true, Rate: tier.Rate, Source: tierSource(tier.Name)}
	case p.Commission.Default.IsFlat:
		return LineRate{Participates: true, Rate: decimal.Zero, Flat: true, Source: sourceDefault}
	default:
		return LineRate{Participates: true, Rate: p.Commission.Default.Fraction, Source: sourceDefault}
	}
}

// rank is how specifically r matches: 3 partner+product, 2 partner,
// 1 product, 0 no match.
func (r Rule) rank(partner, product string) int {
	switch {
	case r.Partner != "" && r.Product != "":
		if r.Partner == partner && r.Product == product {
			return 3
		}
	case r.Partner != "":
		if r.Partner == partner {
			return 2
		}
	case r.Product != "":
		if r.Product == product {
			return 1
		}
	}
	return 0
}

// commission is what amount earns at lr: rate × amount, rounded once.
// Excluded and flat lines earn nothing per line.
func (p *Program) commission(lr LineRate, amount decimal.Decimal) decimal.Decimal {
	if !lr.Participates || lr.Flat {
		return decimal.Zero
	}
	return p.Round(lr.Rate.Mul(amount))
}
