package affiliate_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
)

func TestPeriodRange(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		period     string
		loc        *time.Location
		start, end time.Time
		invalid    bool
	}{
		{"2026-01", time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-12", ny, time.Date(2026, 12, 1, 0, 0, 0, 0, ny), time.Date(2027, 1, 1, 0, 0, 0, 0, ny), false},
		{"2026-1", time.UTC, time.Time{}, time.Time{}, true},
		{"2026-13", time.UTC, time.Time{}, time.Time{}, true},
		{"", time.UTC, time.Time{}, time.Time{}, true},
	} {
		start, end, err := affiliate.PeriodRange(tc.period, tc.loc)
		if tc.invalid {
			if fault.CodeOf(err) != fault.CodeInvalidArgument {
				t.Errorf("%q: %v, want invalid_argument", tc.period, err)
			}
			continue
		}
		if err != nil || !start.Equal(tc.start) || !end.Equal(tc.end) {
			t.Errorf("%q in %s: %v..%v %v, want %v..%v", tc.period, tc.loc, start, end, err, tc.start, tc.end)
		}
	}
}

func TestPeriodShiftAndDueDate(t *testing.T) {
	for _, tc := range []struct{ p, next, prev, due string }{
		{"2026-01", "2026-02", "2025-12", "2026-02-15"},
		{"2026-12", "2027-01", "2026-11", "2027-01-15"},
	} {
		due, err := affiliate.DueDate(tc.p, time.UTC, 15)
		if got := affiliate.NextPeriod(tc.p); got != tc.next {
			t.Errorf("next of %s = %s, want %s", tc.p, got, tc.next)
		}
		if got := affiliate.PrevPeriod(tc.p); got != tc.prev {
			t.Errorf("prev of %s = %s, want %s", tc.p, got, tc.prev)
		}
		if err != nil || due != tc.due {
			t.Errorf("due of %s = %s %v, want %s", tc.p, due, err, tc.due)
		}
	}
}

func TestClosedBy(t *testing.T) {
	end := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := affiliate.ClosedBy("2026-01", end, end); err != nil {
		t.Errorf("at its end: %v", err)
	}
	if err := affiliate.ClosedBy("2026-01", end, end.Add(-time.Microsecond)); fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Errorf("before its end: %v, want failed_precondition", err)
	}
}

func TestRelease(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		name             string
		active           bool
		accrued, minimum string
		want             string
		released         bool
	}{
		{"at the minimum", true, "100.00", "100.00", "100.00", true},
		{"above", true, "150.00", "100.00", "150.00", true},
		{"below: carried forward", true, "99.99", "100.00", "0", false},
		{"suspended gets none", false, "500.00", "100.00", "0", false},
		{"nothing accrued, no minimum", true, "0", "0", "0", false},
		{"negative", true, "-5.00", "0", "0", false},
	} {
		got, ok := affiliate.Release(tc.active, d(tc.accrued), d(tc.minimum))
		if ok != tc.released || !got.Equal(d(tc.want)) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.released)
		}
	}
}

func TestMaturing(t *testing.T) {
	end := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	late := end.Add(48 * time.Hour)
	for _, tc := range []struct {
		booked, key, period string
		latest, at          time.Time
	}{
		{"2026-01", "close:2026-01:mature:o1", "2026-01", end.Add(-time.Hour), end},
		{"2026-02", "close:2026-01:mature:o1:2026-02", "2026-02", late, late},
		{"2026-02", "close:2026-01:mature:o1:2026-02", "2026-02", end.Add(-time.Hour), end},
	} {
		if got := affiliate.MaturingKey("2026-01", "o1", tc.booked); got != tc.key {
			t.Errorf("key %s, want %s", got, tc.key)
		}
		if got := affiliate.MaturingAt("2026-01", tc.booked, end, tc.latest); !got.Equal(tc.at) {
			t.Errorf("%s: at %v, want %v", tc.booked, got, tc.at)
		}
	}
	var m affiliate.Movement
	affiliate.Mature(&m, "partner:a:pending", decimal.RequireFromString("-3"))
	legs := m.Legs()
	if len(legs) != 2 || legs[0].Account != "partner:a:accrued" || legs[1].Account != "partner:a:pending" {
		t.Errorf("a negative remainder moves back: %v", legs)
	}
}
