package money

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
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
	if got := Format(decimal.RequireFromString("5"), 2); got != "5.00" {
		t.Fatalf("Format = %s", got)
	}
}
