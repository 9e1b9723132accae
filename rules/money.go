package rules

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/money"
)

// Limits on percentages and durations. Amounts share the one bound of
// package money (below 10^13 major units), so every amount the server's
// parser accepts is one the rules accept.
const (
	// percentDecimalsMax bounds the precision of a percentage ("12.3456%").
	percentDecimalsMax = 4
	// durationDaysMax bounds hold and attribution windows (about ten years).
	durationDaysMax = 3650
)

var (
	hundred       = decimal.NewFromInt(100)
	amountPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	// percentPattern: digits, optional fraction, a percent sign.
	percentPattern = regexp.MustCompile(`^([0-9]{1,3})(\.([0-9]+))?%$`)
	daysPattern    = regexp.MustCompile(`^([0-9]{1,6})d$`)
)

// Scale returns the number of decimals of the program's currency minor unit
// (2 for USD, 0 for JPY). The currency is validated by Parse; a Program built
// by hand with an unknown currency is a programming error and panics.
func (p *Program) Scale() int32 {
	scale, ok := money.Scale(p.Currency)
	assert(ok, "unknown currency %q", p.Currency)
	return scale
}

// Round rounds d half away from zero to the currency's minor unit
// (0.125 -> 0.13, -0.125 -> -0.13).
func (p *Program) Round(d decimal.Decimal) decimal.Decimal {
	// decimal.Round rounds half away from zero; money_test.go pins it.
	return d.Round(p.Scale())
}

// Format renders an amount with exactly the currency's decimals ("45.00").
func (p *Program) Format(d decimal.Decimal) string {
	return d.StringFixed(p.Scale())
}

// CheckAmount returns a *FieldError for field when d is negative, has more
// decimals than the currency, or is not below money.AmountLimit (10^13).
func (p *Program) CheckAmount(field string, d decimal.Decimal) error {
	if d.IsNegative() {
		return fieldErrorf(field, "%s is negative", p.show(d))
	}
	if !d.Equal(d.Round(p.Scale())) {
		return fieldErrorf(field, "%s has more than %d decimals for %s", p.show(d), p.Scale(), p.Currency)
	}
	if err := money.CheckRange(d, p.Scale()); err != nil {
		return fieldErrorf(field, "%v", err)
	}
	return nil
}

// show renders an amount for an error: with the currency's decimals when
// it has no more, else exactly as it is.
func (p *Program) show(d decimal.Decimal) string {
	if d.Equal(d.Round(p.Scale())) {
		return p.Format(d)
	}
	return d.String()
}

// parseAmount reads a non-negative amount written as plain digits ("5.00")
// and checks it against the currency.
func (p *Program) parseAmount(path, s string) (decimal.Decimal, error) {
	if strings.HasPrefix(s, "-") {
		return decimal.Zero, fieldErrorf(path, "%s is negative", quote(s))
	}
	if len(s) > money.AmountCharsMax || !amountPattern.MatchString(s) {
		return decimal.Zero, fieldErrorf(path, "%s is not an amount like \"5.00\"", quote(s))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fieldErrorf(path, "%s is not an amount like \"5.00\"", quote(s))
	}
	if err := p.CheckAmount(path, d); err != nil {
		return decimal.Zero, err
	}
	return d, nil
}

// parsePercent reads "10%" or "12.5%" (0% to 100%) and returns the fraction
// (0.10, 0.125).
func parsePercent(path, s string) (decimal.Decimal, error) {
	m := percentPattern.FindStringSubmatch(s)
	if m == nil {
		return decimal.Zero, fieldErrorf(path, "%s is not a percentage", quote(s))
	}
	if len(m[3]) > percentDecimalsMax {
		return decimal.Zero, fieldErrorf(path, "%s has more than %d decimals", quote(s), percentDecimalsMax)
	}
	d, err := decimal.NewFromString(strings.TrimSuffix(s, "%"))
	if err != nil {
		return decimal.Zero, fieldErrorf(path, "%s is not a percentage", quote(s))
	}
	if d.GreaterThan(hundred) {
		return decimal.Zero, fieldErrorf(path, "%s is above 100%%", quote(s))
	}
	return d.Div(hundred), nil
}

// parseDuration reads whole days ("60d", "0d") or a Go duration ("12h").
func parseDuration(path, s string) (time.Duration, error) {
	if m := daysPattern.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > durationDaysMax {
			return 0, fieldErrorf(path, "%s is longer than %dd", quote(s), durationDaysMax)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fieldErrorf(path, "%s is not a duration like \"30d\" or \"12h\"", quote(s))
	}
	if d < 0 {
		return 0, fieldErrorf(path, "%s is negative", quote(s))
	}
	if d > durationDaysMax*24*time.Hour {
		return 0, fieldErrorf(path, "%s is longer than %dd", quote(s), durationDaysMax)
	}
	return d, nil
}
