package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestCLIAgainstAServer drives the CLI as the README tour does, against a
// server holding the demo program: a partner, a click, an order and its
// provenance, a statement of the demo's closed month, a payout and the
// journal's verification.
func TestCLIAgainstAServer(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	hs := httptest.NewServer(server.New(db, clock.NewSim(now), nil).Handler())
	t.Cleanup(hs.Close)
	if err := demo.Load(ctx, hs.URL, now); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"--server", hs.URL}, args...), &out); err != nil {
			t.Fatalf("accrue %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"statement", "bob", "2026-10"}, []string{"status final", "released 110.00", "due 2026-11-15", "Released to payable"}},
		{[]string{"statement", "alice", "2026-10"}, []string{"status preliminary", "Income from referral program from bob"}},
		{[]string{"partner", "register", "carol", "--parent", "bob", "--code", "CAROL"}, []string{"carol", "CAROL", "bob", "active"}},
		{[]string{"click", "CAROL", "visitor-42", "--utm-source", "newsletter"}, []string{"partner carol"}},
		{[]string{"order", "pay", "o-9", "--customer", "c-9", "--visitor", "visitor-42", "--line", "bag=120.00", "--line", "belt=80.00"}, []string{"partner carol", "last_click"}},
		{[]string{"order", "get", "o-9"}, []string{"earns 12.00", "at 10%", "commission.default", "earns 12.00", "at 15%", "commission.rules[0]", "level 1", "bob", "earns 4.00"}},
		{[]string{"payout", "create", "p-1", "--partner", "bob", "--method", "bank_transfer"}, []string{"p-1", "bob", "110.00", "pending"}},
		{[]string{"payout", "settle", "p-1"}, []string{"settled"}},
		{[]string{"balance", "partner:bob:payable", "platform:payout_clearing"}, []string{"partner:bob:payable", "0.00", "platform:payout_clearing", "110.00"}},
		{[]string{"trial-balance"}, []string{"total 0.00"}},
		{[]string{"verify"}, []string{"ok=true"}},
	}
	for _, st := range steps {
		out := cli(st.args...)
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("accrue %s: output lacks %q:\n%s", strings.Join(st.args, " "), w, out)
			}
		}
	}
	if out := cli("--json", "order", "get", "o-9"); !strings.Contains(out, `"commission.rules[0]"`) || !strings.Contains(out, `"partner"`) {
		t.Errorf("--json order get: %s", out)
	}
}
