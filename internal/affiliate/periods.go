package affiliate

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

// PeriodLayout is how a period is written: a calendar month (SPEC §7).
const PeriodLayout = "2006-01"

// PeriodRange returns the first instant of period and of the next one in
// loc; fault InvalidArgument on field period when it is not YYYY-MM.
func PeriodRange(period string, loc *time.Location) (start, end time.Time, err error) {
	t, err := time.ParseInLocation(PeriodLayout, period, loc)
	if err != nil || t.Format(PeriodLayout) != period {
		return time.Time{}, time.Time{}, fault.InvalidArgument("period", "%q is not a period (YYYY-MM)", period)
	}
	return t, t.AddDate(0, 1, 0), nil
}

// NextPeriod is the period after p (a well-formed YYYY-MM).
func NextPeriod(p string) string { return shiftPeriod(p, 1) }

// PrevPeriod is the period before p (a well-formed YYYY-MM).
func PrevPeriod(p string) string { return shiftPeriod(p, -1) }

func shiftPeriod(p string, months int) string {
	t, err := time.Parse(PeriodLayout, p)
	if err != nil {
		panic(fmt.Sprintf("affiliate: shifting malformed period %q", p))
	}
	return t.AddDate(0, months, 0).Format(PeriodLayout)
}

// DueDate is the date (YYYY-MM-DD) a statement of period is due: dueDay of
// the month after it, in loc.
func DueDate(period string, loc *time.Location, dueDay int) (string, error) {
	start, _, err := PeriodRange(period, loc)
	if err != nil {
		return "", err
	}
	return time.Date(start.Year(), start.Month()+1, dueDay, 0, 0, 0, 0, loc).Format(time.DateOnly), nil
}

// ClosedBy checks that a period ending at end may be closed at now.
func ClosedBy(period string, end, now time.Time) error {
	if end.After(now) {
		return fault.FailedPrecondition("period", "period %s ends at %s; it has not ended yet", period, end.Format(time.RFC3339))
	}
	return nil
}

// closeKeyPrefix starts the idempotency keys of a close's postings.
const closeKeyPrefix = "close:"

// ReleaseKey is the idempotency key of partner's release in period.
func ReleaseKey(period, partner string) string {
	return closeKeyPrefix + period + ":release:" + partner
}

// MaturingKey is the idempotency key of the maturing, by the close of
// period, of what order has pending in booked (a later, open period's part
// gets its own key).
func MaturingKey(period, order, booked string) string {
	key := closeKeyPrefix + period + ":mature:" + order
	if booked != period {
		key += ":" + booked
	}
	return key
}

// MaturingAt is when the maturing of an order's pending part booked in
// booked is dated, in the close of period ending at end: at end, or for a
// later period's part no earlier than the latest entry it offsets, so
// as-of balances never show it moved before it came.
func MaturingAt(period, booked string, end, latest time.Time) time.Time {
	if booked != period && latest.After(end) {
		return latest
	}
	return end
}

// Mature records in m the maturing of amount, the credit-normal balance of
// a partner's pending account code: pending to accrued, or back for a
// negative remainder.
func Mature(m *Movement, code string, amount decimal.Decimal) {
	accrued := strings.TrimSuffix(code, ":"+Pending) + ":" + Accrued
	if amount.IsNegative() {
		m.Move(accrued, code, amount.Neg())
	} else {
		m.Move(code, accrued, amount)
	}
}

// Release is what a partner's close releases from its accrued balance to
// payable (SPEC §5): all of it when the partner is active and it reaches
// minimum; nothing (it is carried forward) below the minimum or for a
// suspended partner.
func Release(active bool, accrued, minimum decimal.Decimal) (decimal.Decimal, bool) {
	if !active || !accrued.IsPositive() || accrued.LessThan(minimum) {
		return decimal.Zero, false
	}
	return accrued, true
}

// ReleaseMovement moves amount of partner's accrued balance to payable.
func ReleaseMovement(partner string, amount decimal.Decimal) *Movement {
	m := &Movement{}
	m.Move(PartnerAccount(partner, Accrued), PartnerAccount(partner, Payable), amount)
	return m
}
