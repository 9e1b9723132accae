package rules

import (
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

func BenchmarkParse(b *testing.B) {
	doc := []byte(specDoc)
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccrueRefund accrues a 10-line order with a 3-level upline under
// a program with 100 rules, then refunds one line.
func BenchmarkAccrueRefund(b *testing.B) {
	doc := "currency: USD\ncommission:\n  default: 10%\n  rules:\n"
	for i := 0; i < 100; i++ {
		doc += fmt.Sprintf("    - {match: {partner: p%d, product: x%d}, rate: 11%%}\n", i, i)
	}
	doc += "upline: [{level: 1, rate: 2%, base: order_amount}, {level: 2, rate: 10%, base: commission}, {level: 3, rate: 1%, base: commission}]\n"
	p := mustParse(b, doc)
	var lines []Line
	for i := 0; i < 10; i++ {
		lines = append(lines, Line{Product: fmt.Sprintf("x%d", i), Amount: decimal.New(12345, -2)})
	}
	chain := []UplineMember{{"a", true}, {"b", true}, {"c", true}}
	refund := []Line{{Product: "x3", Amount: decimal.New(1000, -2)}}
	for b.Loop() {
		s, _ := p.Accrue(AccrualFacts{Partner: "p3", Lines: lines, Upline: chain})
		if _, _, err := p.Refund(s, refund, decimal.Zero); err != nil {
			b.Fatal(err)
		}
	}
}
