package affiliate_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/rules"
)

func TestCheckNoCycle(t *testing.T) {
	long := make([]string, affiliate.ChainLenMax)
	for i := range long {
		long[i] = string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260%10)) + string(rune('0'+i/2600))
	}
	for _, tc := range []struct {
		name          string
		partner, par  string
		chain         []string
		fault, broken bool
	}{
		{"a root parent", "x", "p", []string{"p"}, false, false},
		{"a chain without x", "x", "p", []string{"p", "q", "r"}, false, false},
		{"x is the parent's ancestor", "x", "p", []string{"p", "q", "x"}, true, false},
		{"x is the parent", "x", "x", []string{"x"}, true, false},
		{"x met before the loop", "x", "p", []string{"p", "x", "p"}, true, false},
		{"a loop above without x", "x", "p", []string{"p", "q", "p"}, false, true},
		{"a chain too deep", "x", "p", long, false, true},
		{"one short of too deep", "x", "p", long[:len(long)-1], false, false},
	} {
		err := affiliate.CheckNoCycle(tc.partner, tc.par, tc.chain)
		switch {
		case tc.fault:
			if fault.CodeOf(err) != fault.CodeInvalidArgument {
				t.Errorf("%s: %v, want invalid_argument", tc.name, err)
			}
		case tc.broken:
			if err == nil || fault.CodeOf(err) == fault.CodeInvalidArgument {
				t.Errorf("%s: %v, want an internal error", tc.name, err)
			}
		case err != nil:
			t.Errorf("%s: %v, want none", tc.name, err)
		}
	}
}

func TestUpline(t *testing.T) {
	m := func(ids ...string) []rules.UplineMember {
		var out []rules.UplineMember
		for _, id := range ids {
			out = append(out, rules.UplineMember{Partner: id, Eligible: id != "s"})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		ancestors []rules.UplineMember
		levels    int
		want      []rules.UplineMember
	}{
		{"none", nil, 3, nil},
		{"within levels", m("a", "s"), 3, m("a", "s")},
		{"cut at levels", m("a", "b", "c"), 2, m("a", "b")},
		{"ends before a repeat", m("a", "b", "a"), 5, m("a", "b")},
		{"ends before the partner", m("a", "x", "b"), 5, m("a")},
	} {
		if got := affiliate.Upline("x", tc.ancestors, tc.levels); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWhoEarns(t *testing.T) {
	for _, tc := range []struct {
		partnerCustomer, customer string
		allowed, want             bool
	}{
		{"c1", "c1", false, true},
		{"c1", "c1", true, false},
		{"c1", "c2", false, false},
		{"", "", false, false},
	} {
		if got := affiliate.SelfReferral(tc.partnerCustomer, tc.customer, tc.allowed); got != tc.want {
			t.Errorf("SelfReferral(%q, %q, %v) = %v", tc.partnerCustomer, tc.customer, tc.allowed, got)
		}
	}
	if !affiliate.Eligible(affiliate.StatusActive) || affiliate.Eligible(affiliate.StatusSuspended) {
		t.Error("only an active partner is eligible")
	}
}

func TestMergePrivate(t *testing.T) {
	stored := map[string]string{"email": "a@x", "name": "Ann"}
	got := affiliate.MergePrivate(stored, map[string]string{"email": "", "bank_name": "B"})
	want := map[string]string{"name": "Ann", "bank_name": "B"}
	if len(got) != len(want) || got["name"] != "Ann" || got["bank_name"] != "B" {
		t.Fatalf("merged %v, want %v", got, want)
	}
	if stored["email"] != "a@x" {
		t.Fatal("MergePrivate changed the stored map")
	}
	if got := affiliate.MergePrivate(nil, nil); got == nil || len(got) != 0 {
		t.Fatalf("merging nothing into nothing: %v", got)
	}
}

func TestCodeKey(t *testing.T) {
	for _, tc := range []struct {
		in, key string
		ok      bool
	}{
		{"Bob", "bob", true},
		{"A-b_c.9", "a-b_c.9", true},
		{"", "", false},
		{"K\u212a", "", false}, // the Kelvin sign folds to k in Unicode, never in a code
		{"abcdefghijabcdefghijabcdefghijabc", "", false},
	} {
		if key, ok := affiliate.CodeKey(tc.in); key != tc.key || ok != tc.ok {
			t.Errorf("CodeKey(%q) = %q, %v; want %q, %v", tc.in, key, ok, tc.key, tc.ok)
		}
	}
}

func TestReferralDepth(t *testing.T) {
	for in, want := range map[int]int{-1: 10, 0: 10, 1: 1, 10: 10, 11: 10} {
		if got := affiliate.ReferralDepth(in); got != want {
			t.Errorf("ReferralDepth(%d) = %d, want %d", in, got, want)
		}
	}
}

// MonthRange selects exactly the months whose names lie between from and
// to as strings, as GetStats filtered before.
func TestMonthRange(t *testing.T) {
	months := []time.Time{}
	for y := 2024; y <= 2026; y++ {
		for m := time.January; m <= time.December; m++ {
			months = append(months, time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
		}
	}
	bounds := []string{"", "2025-03", "2025-3", "2025", "2025-12-31", "2025-13", "zzz", "0", "2024-01", "2026-12", "9999-12", "10000"}
	for _, from := range bounds {
		for _, to := range bounds {
			start, end := affiliate.MonthRange(from, to)
			for _, m := range months {
				name := m.Format("2006-01")
				want := (from == "" || name >= from) && (to == "" || name <= to)
				got := (start == nil || !m.Before(*start)) && (end == nil || m.Before(*end))
				if got != want {
					t.Errorf("from %q to %q: month %s selected %v, want %v", from, to, name, got, want)
				}
			}
		}
	}
}

func TestPartnerAccountAffixes(t *testing.T) {
	prefix, suffixes := affiliate.PartnerAccountAffixes(affiliate.CommissionAccountKinds)
	for i, k := range affiliate.CommissionAccountKinds {
		if got := prefix + "bob" + suffixes[i]; got != affiliate.PartnerAccount("bob", k) {
			t.Errorf("%s: %q, want %q", k, got, affiliate.PartnerAccount("bob", k))
		}
	}
}

func TestStatsRows(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dec := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	s := affiliate.Stats{}
	r := s.Row("bob", "blog", jan)
	r.Clicks, r.UniqueVisitors = 3, 3
	s.Row("bob", "blog", jan).Orders = 1
	s.Row("ann", "", jan).Orders = 2
	s.Row("bob", "", dec).Clicks = 1
	rows := s.Rows()
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Partner+"/"+r.Month+"/"+r.Source+"="+r.ConversionRate.String())
	}
	want := []string{"ann/2026-01/=0", "bob/2025-12/=0", "bob/2026-01/blog=0.3333"}
	if !slices.Equal(keys, want) {
		t.Fatalf("rows %v, want %v", keys, want)
	}
	if !rows[0].Revenue.Equal(decimal.Zero) {
		t.Fatalf("an empty revenue is %s", rows[0].Revenue)
	}
}
