package service

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/store"
)

// scheduleT0 is mid-month, so a program created then has nothing to close
// until the month ends.
var scheduleT0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// scheduleService is a Service on a fresh database whose pool's round
// trips trips counts, on a simulated clock at scheduleT0.
func scheduleService(t *testing.T, trips *roundTrips) (*Service, *clock.Sim) {
	t.Helper()
	db, err := database.OpenWith(context.Background(), database.Options{MigrateURL: pgtest.DatabaseURL(t), Tracer: trips})
	if err != nil {
		t.Fatalf("database.OpenWith: %v", err)
	}
	t.Cleanup(db.Pool.Close)
	clk := clock.NewSim(scheduleT0)
	return New(db, clk, nil), clk
}

// putRules stores document as program's rules effective at at (the first
// version creates the program, dated at).
func putRules(t *testing.T, s *Service, program, key, document string, at time.Time) {
	t.Helper()
	c := Command{Program: program, Key: key, Method: "test", Hash: []byte(key + document + at.String())}
	_, err := s.PutRules(context.Background(), c, PutRulesInput{Program: program, Document: document, At: at}, encodeAny[store.RulesVersion])
	must(t, err)
}

// scheduledMinutes runs the scheduler's job n times, a minute apart, from
// a minute after the clock's now, and returns the round trips of the last.
func scheduledMinutes(t *testing.T, s *Service, clk *clock.Sim, trips *roundTrips, n int) int64 {
	t.Helper()
	for range n {
		clk.Set(clk.Now().Add(time.Minute))
		trips.n.Store(0)
		must(t, s.RunScheduled(context.Background(), clk.Now()))
	}
	return trips.n.Load()
}

// A minute of the scheduler costs the same few statements however many
// programs are idle: which programs have a tick due or rows to seal is
// one statement each (store.DueSchedules, ledger.ProgramsToSeal). It
// walked every program's schedule and opened a sealing transaction for
// each, about a dozen round trips a program a minute. The idle programs
// still close on time, and new rules are scheduled.
func TestScheduledMinuteOfIdlePrograms(t *testing.T) {
	ctx := context.Background()
	trips := &roundTrips{}
	s, clk := scheduleService(t, trips)
	addPrograms := func(from, to int) {
		for i := from; i < to; i++ {
			putRules(t, s, fmt.Sprintf("shop%02d", i), "rules", groupRules, clk.Now())
		}
		// The first minutes compute the new schedules and seal the new
		// accounts (recorded more than ledger.SealLag ago by the third).
		scheduledMinutes(t, s, clk, trips, 3)
	}
	addPrograms(0, 2)
	few := scheduledMinutes(t, s, clk, trips, 1)
	addPrograms(2, 30)
	many := scheduledMinutes(t, s, clk, trips, 1)
	if few != many || many > 4 {
		t.Errorf("an idle minute took %d round trips with 2 programs and %d with 30; want the same few", few, many)
	}

	// Every program's March closes at the April tick.
	clk.Set(time.Date(2026, 4, 1, 0, 0, 30, 0, time.UTC))
	must(t, s.RunScheduled(ctx, clk.Now()))
	var closed int
	must(t, s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM periods WHERE period = '2026-03' AND status = 'closed'`).Scan(&closed))
	if closed != 30 {
		t.Errorf("%d programs closed March at the April tick, want 30", closed)
	}

	// A version effective before the cursor changes the schedule from
	// it: the next tick moves from May 1 to April 15.
	nextTick := func() time.Time {
		var next time.Time
		must(t, s.db.Pool.QueryRow(ctx, `SELECT next_tick FROM schedules WHERE program_id = 'shop00'`).Scan(&next))
		return next.UTC()
	}
	if got, want := nextTick(), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next tick %s, want %s", got, want)
	}
	putRules(t, s, "shop00", "mid-month", strings.Replace(groupRules, `"0 0 1 * *"`, `"0 0 15 * *"`, 1), scheduleT0)
	scheduledMinutes(t, s, clk, trips, 1)
	if got, want := nextTick(), time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next tick after new rules %s, want %s", got, want)
	}
}
