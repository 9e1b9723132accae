package affiliate

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// CommissionKinds are the journal kinds that post an order's direct
// commission; CommissionAccountKinds the partner accounts it is credited
// to (pending while on hold, accrued after).
var (
	CommissionKinds        = []string{KindAccrual, KindAdjustment}
	CommissionAccountKinds = []string{Pending, Accrued}
)

// PartnerAccountAffixes splits the codes of the partner accounts of kinds
// around the partner id: PartnerAccount(id, kinds[i]) is prefix + id +
// suffixes[i].
func PartnerAccountAffixes(kinds []string) (prefix string, suffixes []string) {
	for _, k := range kinds {
		suffixes = append(suffixes, PartnerAccount("", k)[len(partnerPrefix):])
	}
	return partnerPrefix, suffixes
}

// monthCount is the number of months from 0001-01 to 9999-12, the months a
// statistics row may fall in.
const monthCount = 9999 * 12

// monthName is the i-th month from 0001-01 as a statistics row names it.
func monthName(i int) string { return fmt.Sprintf("%04d-%02d", 1+i/12, 1+i%12) }

// monthStart is the start of the i-th month from 0001-01 (a wall time).
func monthStart(i int) time.Time {
	return time.Date(1+i/12, time.Month(1+i%12), 1, 0, 0, 0, 0, time.UTC)
}

// MonthRange turns the months a statistics request names (YYYY-MM, each
// optional, both inclusive, compared as strings) into local wall-time
// bounds: rows from start (inclusive) to end (exclusive), each nil when
// unbounded. A month name is compared as a string, so any from and to
// select exactly the rows whose month name lies between them.
func MonthRange(from, to string) (start, end *time.Time) {
	if from != "" {
		t := monthStart(sort.Search(monthCount, func(i int) bool { return monthName(i) >= from }))
		start = &t
	}
	if to != "" {
		t := monthStart(sort.Search(monthCount, func(i int) bool { return monthName(i) > to }))
		end = &t
	}
	return start, end
}

// StatsKey is one row of the statistics: partner × UTM source × month
// (YYYY-MM).
type StatsKey struct {
	Partner, Source, Month string
}

// StatsRow is one row of the statistics.
type StatsRow struct {
	StatsKey
	Clicks, UniqueVisitors, Orders int64
	Revenue, Commission            decimal.Decimal
	// ConversionRate is orders per unique visitor, to 4 places; 0
	// without visitors.
	ConversionRate decimal.Decimal
}

// Stats gathers statistics rows by key.
type Stats map[StatsKey]*StatsRow

// Row returns the row of partner, source and month (a local month start),
// added empty when new.
func (s Stats) Row(partner, source string, month time.Time) *StatsRow {
	k := StatsKey{partner, source, month.Format("2006-01")}
	if r, ok := s[k]; ok {
		return r
	}
	r := &StatsRow{StatsKey: k}
	s[k] = r
	return r
}

// Rows returns the rows with their conversion rates, by partner, month and
// source.
func (s Stats) Rows() []StatsRow {
	out := make([]StatsRow, 0, len(s))
	for _, r := range s {
		if r.UniqueVisitors > 0 {
			r.ConversionRate = decimal.NewFromInt(r.Orders).DivRound(decimal.NewFromInt(r.UniqueVisitors), 4)
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b StatsRow) int {
		return cmp.Or(cmp.Compare(a.Partner, b.Partner), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Source, b.Source))
	})
	return out
}
