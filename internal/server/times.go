package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
)

// Bounds on the times a request carries (docs/decisions.md, "Issue 7:
// values at the edge").
const (
	// EventSkewMax is how far after the server's clock an event's `at` may
	// be: enough for a client's clock running a little ahead, too little to
	// book an event in a future period.
	EventSkewMax = 5 * time.Minute
)

var (
	// timeMin and timeMax bound every timestamp: nothing before the Unix
	// epoch, nothing after year 9999 (PostgreSQL and RFC 3339 agree there).
	timeMin = time.Unix(0, 0).UTC()
	timeMax = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
)

// checkTimeRange refuses a time before 1970 or after year 9999, naming field.
func checkTimeRange(field string, t time.Time) error {
	if t.Before(timeMin) || t.After(timeMax) {
		return fault.InvalidArgument(field, "%s is outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z", t.Format(time.RFC3339Nano))
	}
	return nil
}

// readTime reads an optional timestamp that is not an event (as_of,
// parent_until, the `at` of a read or a simulation): a valid instant in
// range, truncated to the database's microseconds. ok is false when ts is
// unset.
func readTime(field string, ts *timestamppb.Timestamp) (t time.Time, ok bool, err error) {
	if ts == nil {
		return time.Time{}, false, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, false, fault.InvalidArgument(field, "%v", err)
	}
	t = ts.AsTime().UTC()
	if err := checkTimeRange(field, t); err != nil {
		return time.Time{}, false, err
	}
	return t.Truncate(time.Microsecond), true, nil
}

// eventTime reads the `at` of a write command: when it happened, the
// server clock's now when unset. An event more than EventSkewMax after the
// server's clock has not happened yet and is refused; the clock is the
// Server's, so a replay's simulated clock decides in a replay.
func (s *Server) eventTime(ts *timestamppb.Timestamp) (time.Time, error) {
	now := s.clock.Now()
	t, ok, err := readTime("at", ts)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return now, nil
	}
	if limit := now.Add(EventSkewMax); t.After(limit) {
		return time.Time{}, fault.InvalidArgument("at", "%s is after the server's clock (%s) by more than %s; an event cannot be dated in the future",
			t.Format(time.RFC3339Nano), now.Format(time.RFC3339), EventSkewMax)
	}
	return t, nil
}

// readTimeOrNow is readTime with the server clock's now for an unset ts.
func (s *Server) readTimeOrNow(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	t, ok, err := readTime(field, ts)
	if !ok && err == nil {
		t = s.clock.Now()
	}
	return t, err
}
