package money

import (
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

// Bounds on every amount accrue reads, from the wire or from a rules
// document (docs/decisions.md, "Issue 7: values at the edge").
//
// An amount is below 10^13 major units in absolute value: at most 13 integer
// digits, "9999999999999.99" in USD. That is generous for one order line, a
// payout or a transfer, and keeps sums far from any overflow: an order's
// 1000 lines plus shipping stay below 10^16, which is below 2^63 even in
// minor units (cents), for a client or report that converts to int64. The
// database columns are unbounded NUMERIC, so only this bound limits them.
const (
	// AmountIntDigitsMax is the most integer digits an amount may have.
	AmountIntDigitsMax = 13
	// AmountCharsMax bounds the text of an amount before it is parsed, so
	// a megabyte of digits is refused without being read as a number. It
	// leaves room for a sign, leading zeros and the decimals of any
	// currency.
	AmountCharsMax = 32
)

// AmountLimit is the exclusive bound on an amount's absolute value.
var AmountLimit = decimal.New(1, AmountIntDigitsMax)

// amountPattern is the one accepted form: an optional leading '-', digits,
// and optionally a point followed by digits. No '+', spaces, exponents,
// hexadecimal, separators or a bare point (".5", "5.").
var amountPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Parse reads a decimal string such as "45.00" or "-20.00": the one parser
// for every amount on the wire. It refuses text longer than AmountCharsMax,
// any form but amountPattern, more decimals than scale (even zeros:
// "45.000" in USD) and amounts outside the range of CheckRange. "-0" and
// "-0.00" read as zero: a decimal has no negative zero, so a caller that
// allows zero gets 0 and one that needs a positive amount refuses it.
func Parse(s string, scale int32) (decimal.Decimal, error) {
	if len(s) > AmountCharsMax {
		return decimal.Decimal{}, fmt.Errorf("is longer than %d characters", AmountCharsMax)
	}
	if !amountPattern.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal amount like \"45.00\"", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal amount like \"45.00\"", s)
	}
	if d.Exponent() < -scale {
		return decimal.Decimal{}, fmt.Errorf("%q has more than %d decimals", s, scale)
	}
	if err := CheckRange(d, scale); err != nil {
		return decimal.Decimal{}, err
	}
	return d, nil
}

// ParseNonNegative is Parse for a wire field that must not be negative: an
// order line, shipping. Its error is a fault InvalidArgument naming field.
func ParseNonNegative(field, s string, scale int32) (decimal.Decimal, error) {
	d, err := Parse(s, scale)
	if err != nil {
		return decimal.Zero, fault.InvalidArgument(field, "%v", err)
	}
	if d.IsNegative() {
		return decimal.Zero, fault.InvalidArgument(field, "must not be negative, got %s", s)
	}
	return d, nil
}

// ParsePositive is ParseNonNegative for a field that must be above zero: a
// payout or a spend.
func ParsePositive(field, s string, scale int32) (decimal.Decimal, error) {
	d, err := ParseNonNegative(field, s, scale)
	if err != nil {
		return decimal.Zero, err
	}
	if !d.IsPositive() {
		return decimal.Zero, fault.InvalidArgument(field, "must be positive")
	}
	return d, nil
}

// CheckRange returns an error when |d| is not below AmountLimit, naming the
// largest amount allowed in a currency of the given scale.
func CheckRange(d decimal.Decimal, scale int32) error {
	if d.Abs().LessThan(AmountLimit) {
		return nil
	}
	return fmt.Errorf("%s exceeds the maximum amount %s", d.String(), AmountMax(scale))
}

// AmountMax renders the largest amount allowed in a currency of the given
// scale: "9999999999999.99" for 2 decimals.
func AmountMax(scale int32) string {
	return AmountLimit.Sub(decimal.New(1, -scale)).StringFixed(scale)
}
