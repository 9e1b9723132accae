package money

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int32
		want  string // "" = refused
	}{
		{"45.00", 2, "45"},
		{"45", 2, "45"},
		{"0.01", 2, "0.01"},
		{"-5.00", 2, "-5"},
		{"45.001", 2, ""},
		{"45.000", 2, ""},
		{"5e0", 2, ""},
		{"5E2", 2, ""},
		{"+5", 2, ""},
		{"1_000", 2, ""},
		{"1 000", 2, ""},
		{"5,00", 2, ""},
		{"", 2, ""},
		{"abc", 2, ""},
		{"100", 0, "100"},
		{"100.5", 0, ""},
		// Issue 7: one form, one range, for every amount.
		{"-0", 2, "0"},
		{"-0.00", 2, "0"},
		{" 1", 2, ""},
		{"1 ", 2, ""},
		{"1e3", 2, ""},
		{"0x10", 2, ""},
		{".5", 2, ""},
		{"5.", 2, ""},
		{"-", 2, ""},
		{"--5", 2, ""},
		{"NaN", 2, ""},
		{"Infinity", 2, ""},
		{"١٢", 2, ""}, // Arabic-Indic digits
		{"0005.00", 2, "5"},
		{"9999999999999.99", 2, "9999999999999.99"},
		{"-9999999999999.99", 2, "-9999999999999.99"},
		{"10000000000000", 2, ""},
		{"10000000000000.00", 2, ""},
		{"-10000000000000", 2, ""},
		{"1000000000000000", 2, ""},
		{"9999999999999", 0, "9999999999999"},
		{"10000000000000", 0, ""},
		{"1" + strings.Repeat("0", 100000), 2, ""},
		{strings.Repeat("0", AmountCharsMax-4) + "1.00", 2, "1"},
		{strings.Repeat("0", AmountCharsMax-3) + "1.00", 2, ""},
	} {
		got, err := Parse(tc.in, tc.scale)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q, %d) = %s, want an error", tc.in, tc.scale, got)
			}
			continue
		}
		if err != nil || !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("Parse(%q, %d) = %s, %v; want %s", tc.in, tc.scale, got, err, tc.want)
		}
	}
}

func TestScaleAndCurrencies(t *testing.T) {
	if s, ok := Scale("USD"); !ok || s != 2 {
		t.Fatalf("USD: %d %v", s, ok)
	}
	if s, ok := Scale("JPY"); !ok || s != 0 {
		t.Fatalf("JPY: %d %v", s, ok)
	}
	if _, ok := Scale("XXX"); ok {
		t.Fatal("XXX is known")
	}
	cs := Currencies()
	if len(cs) < 5 || !slices.IsSorted(cs) || !slices.Contains(cs, "USD") || !slices.Contains(cs, "JPY") {
		t.Fatalf("Currencies() = %v, want a sorted list", cs)
	}
}

func TestAmountMax(t *testing.T) {
	for scale, want := range map[int32]string{2: "9999999999999.99", 0: "9999999999999"} {
		if got := AmountMax(scale); got != want {
			t.Errorf("AmountMax(%d) = %s, want %s", scale, got, want)
		}
		if _, err := Parse(want, scale); err != nil {
			t.Errorf("Parse(AmountMax(%d)) = %v", scale, err)
		}
	}
}

func TestParseNegativeZeroIsZero(t *testing.T) {
	d, err := Parse("-0.00", 2)
	if err != nil || d.IsNegative() || !d.IsZero() || d.StringFixed(2) != "0.00" {
		t.Fatalf("Parse(-0.00) = %s (negative %v), %v; want 0.00", d, d.IsNegative(), err)
	}
}

// TestParseSigned: ParseNonNegative refuses a negative amount, ParsePositive
// zero as well, each as an InvalidArgument naming the field.
func TestParseSigned(t *testing.T) {
	for _, tc := range []struct {
		in                    string
		nonNegative, positive bool // accepted
	}{
		{"5.00", true, true},
		{"0.00", true, false},
		{"-0.00", true, false},
		{"-5.00", false, false},
		{"5.000", false, false},
	} {
		for _, p := range []struct {
			name  string
			parse func(field, s string, scale int32) (decimal.Decimal, error)
			ok    bool
		}{{"ParseNonNegative", ParseNonNegative, tc.nonNegative}, {"ParsePositive", ParsePositive, tc.positive}} {
			_, err := p.parse("lines[1].amount", tc.in, 2)
			if p.ok != (err == nil) {
				t.Errorf("%s(%q) = %v, want accepted %v", p.name, tc.in, err, p.ok)
			}
			var f *fault.Error
			if err != nil && (!errors.As(err, &f) || f.Code != fault.CodeInvalidArgument || f.Field != "lines[1].amount") {
				t.Errorf("%s(%q): %#v, want InvalidArgument on lines[1].amount", p.name, tc.in, err)
			}
		}
	}
}
