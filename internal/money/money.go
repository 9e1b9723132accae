// Package money knows currencies' minor units and parses amounts from the
// wire. Amounts are shopspring decimals, never floats. It is the one
// currency table (rules and ledger read it) and does no rounding policy of
// its own: rounding rules belong to package rules.
package money

import (
	"maps"
	"slices"
)

// scales maps an ISO 4217 code to its number of decimals.
var scales = map[string]int32{
	"USD": 2, "EUR": 2, "RUB": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2,
	"SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "INR": 2, "BRL": 2,
	"CNY": 2, "MXN": 2, "JPY": 0, "KRW": 0,
}

// Currencies lists the supported currency codes, sorted.
func Currencies() []string {
	return slices.Sorted(maps.Keys(scales))
}

// Scale returns the currency's decimals and whether the currency is known.
func Scale(currency string) (int32, bool) {
	s, ok := scales[currency]
	return s, ok
}
