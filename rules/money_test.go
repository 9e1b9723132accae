package rules

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestRoundHalfAwayFromZero(t *testing.T) {
	usd := &Program{Currency: "USD"}
	jpy := &Program{Currency: "JPY"}
	tests := []struct {
		p    *Program
		in   string
		want string
	}{
		{usd, "0.125", "0.13"},
		{usd, "-0.125", "-0.13"},
		{usd, "49.9995", "50.00"},
		{usd, "0.124999", "0.12"},
		{usd, "-0.005", "-0.01"},
		{usd, "0.005", "0.01"},
		{usd, "0.0049", "0.00"},
		{jpy, "12.5", "13"},
		{jpy, "-12.5", "-13"},
		{jpy, "12.49", "12"},
	}
	for _, tt := range tests {
		got := tt.p.Round(dec(tt.in))
		if !got.Equal(dec(tt.want)) {
			t.Errorf("%s Round(%s) = %s, want %s", tt.p.Currency, tt.in, got, tt.want)
		}
	}
}

func TestCheckAmount(t *testing.T) {
	usd := &Program{Currency: "USD"}
	jpy := &Program{Currency: "JPY"}
	tests := []struct {
		p    *Program
		in   string
		want string // "" = valid
	}{
		{usd, "45.00", ""},
		{usd, "45.000", ""}, // the value has two decimals
		{usd, "0", ""},
		{usd, "45.001", "x: 45.001 has more than 2 decimals for USD"},
		{usd, "-5.00", "x: -5.00 is negative"},
		{usd, "9999999999999.99", ""},
		{usd, "10000000000000", "x: 10000000000000 exceeds the maximum amount 9999999999999.99"},
		{usd, "1000000000000000", "x: 1000000000000000 exceeds the maximum amount 9999999999999.99"},
		{jpy, "10000000000000", "x: 10000000000000 exceeds the maximum amount 9999999999999"},
		{jpy, "100", ""},
		{jpy, "100.5", "x: 100.5 has more than 0 decimals for JPY"},
	}
	for _, tt := range tests {
		err := tt.p.CheckAmount("x", dec(tt.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s CheckAmount(%s) = %q, want %q", tt.p.Currency, tt.in, got, tt.want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in, want string // want "" = error
	}{
		{"10%", "0.1"},
		{"12.5%", "0.125"},
		{"0%", "0"},
		{"100%", "1"},
		{"0.0001%", "0.000001"},
		{"100.01%", ""},
		{"12", ""},
		{"-1%", ""},
		{"1e1%", ""},
		{"12.34567%", ""},
		{" 10%", ""},
	}
	for _, tt := range tests {
		got, err := parsePercent("r", tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parsePercent(%q) = %s, want an error", tt.in, got)
		case tt.want != "" && (err != nil || !got.Equal(dec(tt.want))):
			t.Errorf("parsePercent(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60d", 60 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"14d", 14 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"-1d", 0, false},
		{"-12h", 0, false},
		{"3651d", 0, false},
		{"d", 0, false},
		{"1w", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration("d", tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
