package server

import (
	"testing"
	"time"

	"github.com/accrue/accrue/internal/closefixture"
	"github.com/accrue/accrue/ledger"
)

// TestCloseAtScale closes January for 20,000 partners (closefixture: a
// referral tree, maturing and unmatured orders, suspended partners, some
// below the minimum) and checks every statement and every partner balance
// against the fixture's reference, the period's totals, one release per
// released partner, and that the journal verifies.
func TestCloseAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a close of 20,000 partners")
	}
	h := newHarness(t, "14d")
	f := closefixture.Fixture{Program: testProgram, N: 20_000, Start: closeT0}
	t0 := time.Now()
	h.must(f.Write(h.ctx, h.db.Pool, harnessNow))
	t1 := time.Now()
	resp := h.close(f.Period(), day(time.February, 1))
	t.Logf("fixture %v, close %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if want := f.Released().StringFixed(2); resp.Statements != int32(f.N) || resp.Released != want {
		t.Fatalf("close: %v, want %d statements releasing %s", resp, f.N, want)
	}
	problems, err := f.Check(h.ctx, h.db.Pool)
	h.must(err)
	for _, p := range problems {
		t.Error(p)
	}
	report, err := ledger.Verify(h.ctx, h.db.Pool, testProgram)
	if err != nil || !report.OK() {
		t.Fatalf("verify: %v %v", report.Problems, err)
	}
}
