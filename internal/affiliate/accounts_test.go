package affiliate_test

import (
	"testing"

	"github.com/accrue/accrue/internal/affiliate"
)

func TestPartnerAccountKind(t *testing.T) {
	for _, tc := range []struct {
		code, kind string
		ok         bool
	}{
		{affiliate.PartnerAccount("p1", affiliate.Accrued), affiliate.Accrued, true},
		{affiliate.PartnerAccount("a:b", affiliate.InPayout), affiliate.InPayout, true},
		{"partner:pending", "", false},
		{"partner:", "", false},
		{affiliate.AttributedSales, "", false},
		{"cash", "", false},
	} {
		kind, ok := affiliate.PartnerAccountKind(tc.code)
		if ok != tc.ok || (ok && kind != tc.kind) {
			t.Errorf("PartnerAccountKind(%q) = %q, %v; want %q, %v", tc.code, kind, ok, tc.kind, tc.ok)
		}
	}
}

func TestReservedAndManaged(t *testing.T) {
	for _, tc := range []struct {
		s                 string
		reserved, managed bool
	}{
		{"cmd:k1", true, false},
		{"close:2026-01:x", true, false},
		{"partner:p1:sales", false, true},
		{"platform:payout_clearing", false, true},
		{"my-key", false, false},
		{"command:k", false, false},
	} {
		if _, ok := affiliate.ReservedKey(tc.s); ok != tc.reserved {
			t.Errorf("ReservedKey(%q) = %v, want %v", tc.s, ok, tc.reserved)
		}
		if _, ok := affiliate.ManagedAccount(tc.s); ok != tc.managed {
			t.Errorf("ManagedAccount(%q) = %v, want %v", tc.s, ok, tc.managed)
		}
	}
}

func TestIsDomainKind(t *testing.T) {
	for kind, want := range map[string]bool{
		affiliate.KindAccrual: true, affiliate.KindRelease: true, affiliate.KindSpendReversal: true,
		"reversal": false, "manual": false, "": false,
	} {
		if got := affiliate.IsDomainKind(kind); got != want {
			t.Errorf("IsDomainKind(%q) = %v, want %v", kind, got, want)
		}
	}
}

func TestPlatformAccountsAreManaged(t *testing.T) {
	for _, a := range affiliate.PlatformAccounts {
		if _, ok := affiliate.ManagedAccount(a.Code); !ok {
			t.Errorf("platform account %s is not under a managed prefix", a.Code)
		}
	}
}
