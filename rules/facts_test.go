package rules

import (
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/money"
)

// TestCheckFacts: what Accrue would panic on is an error from CheckFacts,
// naming the field; valid facts, up to the maximum amount, pass.
func TestCheckFacts(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%}}`)
	max := dec(money.AmountMax(2))
	over := max.Add(dec("0.01"))
	for _, tc := range []struct {
		name  string
		facts AccrualFacts
		want  string // "" = valid
	}{
		{"at the maximum", AccrualFacts{Lines: []Line{{Product: "bag", Amount: max}}, Shipping: max}, ""},
		{"shipping over", AccrualFacts{Lines: []Line{{Product: "bag", Amount: dec("1")}}, Shipping: over}, "shipping: "},
		{"line over", AccrualFacts{Lines: []Line{{Product: "bag", Amount: over}}}, "lines[0].amount: "},
		{"repeated product", AccrualFacts{Lines: []Line{{Product: "bag", Amount: dec("1")}, {Product: "bag", Amount: dec("1")}}}, "lines[1].product: "},
		{"empty product", AccrualFacts{Lines: []Line{{Amount: dec("1")}}}, "lines[0].product: "},
	} {
		err := p.CheckFacts(tc.facts)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error starting %q", tc.name, err, tc.want)
		case tc.want == "":
			p.Accrue(tc.facts) // must not panic
		}
	}
}

// TestMergedLinesShareTheMaximum: lines of one product add up, and the sum
// may not pass the maximum any single amount has.
func TestMergedLinesShareTheMaximum(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%}}`)
	max := dec(money.AmountMax(2))
	if _, err := p.MergeLines([]Line{{Product: "bag", Amount: max.Sub(dec("1"))}, {Product: "bag", Amount: dec("1")}}); err != nil {
		t.Fatalf("lines adding up to the maximum: %v", err)
	}
	_, err := p.MergeLines([]Line{{Product: "bag", Amount: max}, {Product: "bag", Amount: dec("0.01")}})
	if err == nil || !strings.HasPrefix(err.Error(), "lines[1].amount: ") {
		t.Fatalf("lines adding up past the maximum: %v, want an error on lines[1].amount", err)
	}
}
