package rules

import (
	"time"

	"github.com/shopspring/decimal"
)

// Explicit limits. Parse refuses a document beyond any of them, and the
// order operations an event beyond LinesMax or IDLenMax, with a *FieldError
// naming the limit.
const (
	// DocumentSizeMax is the largest rules document Parse reads, in bytes.
	DocumentSizeMax = 256 << 10
	// CommissionRulesMax is the most commission.rules a program may have.
	CommissionRulesMax = 1000
	// TiersMax is the most tiers a program may have.
	TiersMax = 20
	// UplineLevelsMax is the most upline levels a program may have.
	UplineLevelsMax = 10
	// LinesMax is the most lines an order (or one refund) may have.
	LinesMax = 1000
	// IDLenMax bounds partner, product and tier names, in bytes.
	IDLenMax = 256
)

// Values of the enumerated fields of a rules document.
const (
	AccrueOnPaid      = "paid"
	AccrueOnCompleted = "completed"

	ModelLastClick  = "last_click"
	ModelFirstClick = "first_click"

	BaseOrderAmount = "order_amount"
	BaseCommission  = "commission"
)

// Program is a parsed and validated rules document (SPEC §4). Build it with
// Parse; every field is then valid and defaults are filled in.
type Program struct {
	Currency      string         // ISO 4217 code, one of the supported currencies
	Timezone      string         // IANA name; periods are calendar months in it
	Location      *time.Location // Timezone, loaded
	AccrueOn      string         // AccrueOnPaid or AccrueOnCompleted
	Hold          time.Duration  // how long an accrual stays pending; 0 = no hold
	Attribution   Attribution
	Commission    Commission
	Tiers         []Tier  // ascending by MinVolume, the first at zero; may be empty
	Upline        []Level // Upline[i].Level == i+1; may be empty
	PayoutMinimum decimal.Decimal
	Schedule      string // standard 5-field cron expression, in Location
	DueDay        int    // day of the next month a statement is due, 1..28
}

// Attribution says how an order finds its partner (SPEC §5).
type Attribution struct {
	Model             string        // ModelLastClick or ModelFirstClick
	Window            time.Duration // how far back a click counts
	AllowSelfReferral bool          // whether a partner earns on its own orders
}

// Commission holds the default rate and the per-partner/per-product rules.
type Commission struct {
	Default Rate
	Rules   []Rule
}

// Rate is either a percentage of the commission base or, for
// commission.default only, a flat amount per order.
type Rate struct {
	Fraction decimal.Decimal // 0.10 for "10%"; zero when IsFlat
	IsFlat   bool            // the rate is Flat per order
	Flat     decimal.Decimal // the flat amount per order when IsFlat
}

// Rule is one entry of commission.rules. It matches a partner, a product or
// both. A rule with Participates false matches a product only and excludes
// it for everyone.
type Rule struct {
	Partner      string          // "" = any partner
	Product      string          // "" = any product
	Rate         decimal.Decimal // fraction; zero when !Participates
	Participates bool
}

// Tier is a referral group: partners whose sales volume reached MinVolume
// earn Rate instead of the default.
type Tier struct {
	Name      string
	MinVolume decimal.Decimal
	Rate      decimal.Decimal // fraction
}

// Level is one upline level: level 1 is the partner's parent.
type Level struct {
	Level int
	Rate  decimal.Decimal // fraction
	Base  string          // BaseOrderAmount or BaseCommission
}

// TierFor returns the tier a partner with the given sales volume belongs to:
// the highest tier whose MinVolume is at most volume. It returns nil when
// the program has no tiers. A negative volume (possible after clawbacks)
// falls in the first tier.
func (p *Program) TierFor(volume decimal.Decimal) *Tier {
	if len(p.Tiers) == 0 {
		return nil
	}
	found := &p.Tiers[0]
	for i := range p.Tiers {
		if p.Tiers[i].MinVolume.LessThanOrEqual(volume) {
			found = &p.Tiers[i]
		}
	}
	return found
}

// RateMax returns the highest percentage (as a fraction) anywhere in the
// document: the default, commission rules, tiers and upline levels. A flat
// default does not count.
func (p *Program) RateMax() decimal.Decimal {
	highest := decimal.Zero
	if !p.Commission.Default.IsFlat {
		highest = decimal.Max(highest, p.Commission.Default.Fraction)
	}
	for _, r := range p.Commission.Rules {
		highest = decimal.Max(highest, r.Rate)
	}
	for _, t := range p.Tiers {
		highest = decimal.Max(highest, t.Rate)
	}
	for _, l := range p.Upline {
		highest = decimal.Max(highest, l.Rate)
	}
	return highest
}

// flatAmount is the flat commission an order earns, zero without a flat
// default.
func (p *Program) flatAmount() decimal.Decimal {
	if !p.Commission.Default.IsFlat {
		return decimal.Zero
	}
	return p.Commission.Default.Flat
}
