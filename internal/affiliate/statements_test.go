package affiliate_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
)

func TestStatementStatus(t *testing.T) {
	for _, tc := range []struct{ released, want string }{
		{"0", affiliate.StatementPreliminary},
		{"0.01", affiliate.StatementFinal},
		{"-1", affiliate.StatementPreliminary},
	} {
		if got := affiliate.StatementStatus(decimal.RequireFromString(tc.released)); got != tc.want {
			t.Errorf("released %s: %s, want %s", tc.released, got, tc.want)
		}
	}
}

func TestStated(t *testing.T) {
	zero := affiliate.Balances{affiliate.Pending: decimal.Zero}
	owed := affiliate.Balances{affiliate.Payable: decimal.RequireFromString("1")}
	line := []affiliate.StatementLine{{Kind: "accrual"}}
	for _, tc := range []struct {
		name  string
		lines []affiliate.StatementLine
		bs    affiliate.Balances
		want  bool
	}{
		{"nothing", nil, zero, false},
		{"owed", nil, owed, true},
		{"activity", line, zero, true},
	} {
		if got := affiliate.Stated(tc.lines, tc.bs); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLineOf(t *testing.T) {
	d := decimal.RequireFromString
	order := map[string]string{"order": "o1", "customer": "c1", "partner": "bob"}
	for _, tc := range []struct {
		name, partner, kind string
		refs                map[string]string
		amount              string
		wantKind, desc      string
		customer            string
	}{
		{"own accrual", "bob", "order.accrual", order, "10", "accrual", "Commission on order o1 (customer c1)", "c1"},
		{"own refund", "bob", "order.adjustment", order, "-10", "reversal", "Refund/reversal on order o1 (customer c1)", "c1"},
		{"upline hides the customer", "alice", "order.accrual", order, "2", "upline", "Income from referral program from bob", ""},
		{"upline reversal", "alice", "order.adjustment", order, "-2", "upline_reversal", "Refund/reversal of referral income from bob (order o1)", ""},
		{"release", "bob", affiliate.KindRelease, map[string]string{"partner": "bob"}, "100", affiliate.KindRelease, "Released to payable", ""},
		{"spend with order", "bob", affiliate.KindSpend, map[string]string{"spend": "s1", "spend_order": "o9"}, "-5", affiliate.KindSpend, "Store credit spend s1 (order o9)", ""},
		{"unknown kind", "bob", "custom", map[string]string{}, "1", "custom", "custom", ""},
	} {
		l := affiliate.LineOf(tc.partner, tc.kind, tc.refs, "partner:"+tc.partner+":pending", d(tc.amount), time.Time{}, 7)
		if l.Kind != tc.wantKind || l.Description != tc.desc || l.Customer != tc.customer || l.TransactionID != 7 {
			t.Errorf("%s: %+v", tc.name, l)
		}
	}
}

func TestStatementAccounts(t *testing.T) {
	codes, owner := affiliate.StatementAccounts([]string{"a", "b"})
	if len(codes) != 8 || codes[0] != "partner:a:pending" || owner["partner:b:in_payout"] != "b" {
		t.Errorf("codes %v owner %v", codes, owner)
	}
}

func TestStatementReason(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		status                     string
		released, accrued, minimum string
		want                       string
	}{
		{affiliate.StatementFinal, "115", "0", "100", "released 115.00"},
		{affiliate.StatementPreliminary, "0", "52", "100", "52.00 of the 100.00 minimum"},
		{affiliate.StatementPreliminary, "0", "-20", "100", "nothing accrued to release"},
		{affiliate.StatementPreliminary, "0", "0", "0", "nothing accrued to release"},
		{affiliate.StatementPreliminary, "0", "150", "100", "not released: the partner was suspended at the close"},
	} {
		if got := affiliate.StatementReason(tc.status, d(tc.released), d(tc.accrued), d(tc.minimum), 2); got != tc.want {
			t.Errorf("StatementReason(%s, %s, %s, %s) = %q, want %q", tc.status, tc.released, tc.accrued, tc.minimum, got, tc.want)
		}
	}
}
