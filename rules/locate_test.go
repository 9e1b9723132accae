package rules_test

import (
	"strings"
	"testing"

	"github.com/accrue/accrue/rules"
)

// locateDoc is a valid document (the demo program's rules).
const locateDoc = `currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
attribution: {model: last_click, window: 60d, allow_self_referral: false}
commission:
  default: 10%
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
upline:
  - {level: 1, rate: 2%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// TestCheck locates faults at the line of their field, of a missing
// field's parent, or of a YAML syntax error; a valid document has its
// program.
func TestCheck(t *testing.T) {
	cases := []struct {
		name, doc, path string
		line            int
	}{
		{"flow mapping in a list", strings.Replace(locateDoc, "rate: 15%", "rate: 150 percent", 1), "commission.rules[0].rate", 9},
		{"block mapping", strings.Replace(locateDoc, "default: 10%", "default: ten", 1), "commission.default", 7},
		{"syntax error at the line YAML names", "currency: USD\nhold: 0d\n\tx: 1\n", "", 2},
		{"missing field", "timezone: UTC\n", "currency", 1},
	}
	for _, tc := range cases {
		p, faults := rules.Check([]byte(tc.doc))
		if p != nil || len(faults) == 0 {
			t.Errorf("%s: program %v, faults %v; want a fault", tc.name, p, faults)
			continue
		}
		if f := faults[0]; f.Path != tc.path || f.Line != tc.line {
			t.Errorf("%s: fault %+v, want path %q at line %d", tc.name, f, tc.path, tc.line)
		}
	}
	p, faults := rules.Check([]byte(locateDoc))
	if p == nil || len(faults) != 0 || p.Currency != "USD" || p.Format(p.PayoutMinimum) != "100.00" {
		t.Errorf("a valid document: %v %v, want its program with USD and a 100.00 minimum", p, faults)
	}
}
