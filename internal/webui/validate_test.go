package webui_test

import (
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/webui"
)

// TestValidate locates faults at the line of their field, of a missing
// field's parent, or of a YAML syntax error; a valid document has its terms.
func TestValidate(t *testing.T) {
	bad := strings.Replace(demo.Rules, "rate: 15%", "rate: 150 percent", 1)
	cases := []struct {
		name, doc, path string
		line            int
	}{
		{"flow mapping in a list", bad, "commission.rules[0].rate", 9},
		{"block mapping", strings.Replace(demo.Rules, "default: 10%", "default: ten", 1), "commission.default", 7},
		{"syntax error at the line YAML names", "currency: USD\nhold: 0d\n\tx: 1\n", "", 2},
		{"missing field", "timezone: UTC\n", "currency", 1},
	}
	for _, tc := range cases {
		c := webui.Validate(tc.doc)
		if c.OK || len(c.Faults) == 0 {
			t.Errorf("%s: ok = %v, faults %v; want a fault", tc.name, c.OK, c.Faults)
			continue
		}
		if f := c.Faults[0]; f.Path != tc.path || f.Line != tc.line {
			t.Errorf("%s: fault %+v, want path %q at line %d", tc.name, f, tc.path, tc.line)
		}
	}
	c := webui.Validate(demo.Rules)
	if !c.OK || c.Terms == nil || c.Terms.Currency != "USD" || c.Terms.PayoutMinimum != "100.00" {
		t.Errorf("the demo rules: %+v %+v, want ok with USD and a 100.00 minimum", c, c.Terms)
	}
}
