package main

import (
	"bytes"
	"context"
	"github.com/accrue/accrue/internal/metrics"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
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
// server holding the demo program: the balances, statements of the demo's
// closed month (also as CSV), a partner, a click, an order and its
// provenance, a payout, a raw posting run twice and the journal's
// verification.
func TestCLIAgainstAServer(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	srv := server.New(db, clock.NewSim(now), nil)
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	srv.Observe(m)
	srv.UseOuterInterceptors(m.Interceptor())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.Handle("/", srv.Handler())
	hs := httptest.NewServer(mux)
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
	for _, st := range demoSteps {
		st.check(t, cli(st.args...))
	}
	if out := cli("--json", "order", "get", "o-9"); !strings.Contains(out, `"commission.rules[0]"`) || !strings.Contains(out, `"partner"`) {
		t.Errorf("--json order get: %s", out)
	}
	checkTourMetrics(t, hs.URL)
}

// checkTourMetrics: after the tour, /metrics counts its RPCs by procedure
// and code, with latency histograms.
func checkTourMetrics(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`accrue_rpc_requests_total{code="ok",procedure="/accrue.v1.OrderService/GetOrder"}`,
		`accrue_rpc_requests_total{code="ok",procedure="/accrue.v1.LedgerService/GetBalances"}`,
		`accrue_rpc_duration_seconds_bucket{code="ok",procedure="/accrue.v1.OrderService/GetOrder"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics after the tour lacks %s", want)
		}
	}
}

// cliStep is one accrue command and what its output must show: want,
// substrings of the output; rows, each a set of substrings one line of the
// output holds together; first, the output's first line.
type cliStep struct {
	args  []string
	want  []string
	rows  [][]string
	first string
}

// demoSteps are TestCLIAgainstAServer's commands over the demo program,
// in order.
var demoSteps = []cliStep{
	{args: []string{"balance"}, rows: [][]string{
		{"partner:alice:accrued", "52.00", "credit"},
		{"partner:bob:payable", "110.00", "credit"},
		{"platform:commission_expense", "140.00", "debit"},
		{"platform:payout_clearing", "0.00", "credit"},
	}},
	{args: []string{"statement", "bob", "2026-10"}, want: []string{"status final", "released 110.00", "due 2026-11-15", "Released to payable"}},
	{args: []string{"statement", "alice", "2026-10"}, want: []string{"status preliminary", "currency USD", "52.00 of the 100.00 minimum",
		"Income from referral program from bob"}, rows: [][]string{{"PENDING", "ACCRUED", "PAYABLE", "IN PAYOUT"}, {"closing", "0.00", "52.00", "0.00", "0.00"}}},
	{args: []string{"statement", "alice", "2026-10", "--csv"},
		first: "partner,period,status,released,due_date,date,kind,account,amount,description,order,customer,transaction_id",
		rows: [][]string{
			{"alice,2026-10,preliminary,", ",opening_balance,partner:alice:accrued,0.00,"},
			{"alice,2026-10,preliminary,", ",closing_balance,partner:alice:accrued,52.00,"},
		}},
	{args: []string{"partner", "register", "carol", "--parent", "bob", "--code", "CAROL"}, want: []string{"idempotency key cli:partner:carol"},
		rows: [][]string{{"carol", "CAROL", "bob", "active"}}},
	{args: []string{"partner", "list", "--all"}, rows: [][]string{{"alice"}, {"bob"}, {"carol", "CAROL"}}},
	{args: []string{"click", "CAROL", "visitor-42", "--utm-source", "newsletter"}, want: []string{"partner carol"}},
	{args: []string{"order", "pay", "o-9", "--customer", "c-9", "--visitor", "visitor-42", "--line", "bag=120.00", "--line", "belt=80.00"}, want: []string{"partner carol", "last_click"}},
	{args: []string{"order", "get", "o-9"}, rows: [][]string{
		{"sales 200.00", "commission 24.00"},
		{"bag", "120.00", "earns 12.00", "at 10%", "commission.default"},
		{"belt", "80.00", "earns 12.00", "at 15%", "commission.rules[0]"},
		{"level 1", "bob", "earns 4.00"},
	}},
	{args: []string{"payout", "create", "p-1", "--partner", "bob", "--method", "bank_transfer"}, want: []string{"p-1", "bob", "110.00", "pending"}},
	{args: []string{"payout", "settle", "p-1"}, want: []string{"settled"}},
	{args: []string{"balance", "partner:bob:payable", "platform:payout_clearing"}, rows: [][]string{{"partner:bob:payable", "0.00"}, {"platform:payout_clearing", "110.00"}}},
	// The README's raw posting, run twice: it posts once.
	{args: []string{"post", "--key", "adj-1", "--kind", "manual_adjustment", "platform:commission_expense:debit:5.00", "partner:carol:accrued:credit:5.00"},
		rows: [][]string{{"manual_adjustment", "replayed=false"}, {"platform:commission_expense", "DEBIT", "5.00"}, {"partner:carol:accrued", "CREDIT", "5.00"}}},
	{args: []string{"post", "--key", "adj-1", "--kind", "manual_adjustment", "platform:commission_expense:debit:5.00", "partner:carol:accrued:credit:5.00"},
		want: []string{"replayed: "}, rows: [][]string{{"manual_adjustment", "replayed=true"}}},
	// carol's 24.00 on o-9 and the 5.00 adjustment once.
	{args: []string{"balance", "partner:carol:accrued"}, rows: [][]string{{"partner:carol:accrued", "29.00"}}},
	{args: []string{"trial-balance"}, want: []string{"total 0.00"}},
	{args: []string{"verify"}, want: []string{"ok=true"}},
}

// check reports what of st's expectations out lacks.
func (st cliStep) check(t *testing.T, out string) {
	t.Helper()
	cmd := strings.Join(st.args, " ")
	for _, w := range st.want {
		if !strings.Contains(out, w) {
			t.Errorf("accrue %s: output lacks %q:\n%s", cmd, w, out)
		}
	}
	lines := strings.Split(out, "\n")
	for _, row := range st.rows {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return !slices.ContainsFunc(row, func(w string) bool { return !strings.Contains(l, w) })
		}) {
			t.Errorf("accrue %s: no output line holds all of %q:\n%s", cmd, row, out)
		}
	}
	if st.first != "" && lines[0] != st.first {
		t.Errorf("accrue %s: first line %q, want %q", cmd, lines[0], st.first)
	}
}
