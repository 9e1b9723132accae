package schedule_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/schedule"
)

// recorder is a Runner that hands the time of each call to the test and
// waits for the test's go-ahead; every second call fails.
type recorder struct {
	called  chan time.Time
	proceed chan struct{}
	n       int // calls so far; touched by the runner's goroutine only
}

func (r *recorder) RunScheduled(ctx context.Context, now time.Time) error {
	select {
	case r.called <- now:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.proceed:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.n++; r.n%2 == 0 {
		return errors.New("database unavailable")
	}
	return nil
}

// Snapshot does nothing: this recorder tests the scheduled jobs.
func (r *recorder) Snapshot(context.Context) error { return nil }

// snapshotter is a Runner whose RunScheduled returns at once and whose
// Snapshot counts its calls to the test; every second call fails.
type snapshotter struct {
	scheduled chan struct{}
	called    chan int
	n         int // Snapshot calls so far; touched by the runner's goroutine only
}

func (s *snapshotter) RunScheduled(context.Context, time.Time) error {
	select {
	case s.scheduled <- struct{}{}:
	default:
	}
	return nil
}

func (s *snapshotter) Snapshot(ctx context.Context) error {
	s.n++
	select {
	case s.called <- s.n:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.n%2 == 0 {
		return errors.New("database unavailable")
	}
	return nil
}

// TestRunSnapshotsOnItsOwnTicker: with the scheduled jobs' interval an
// hour away, Snapshot is still called again and again on its own ticker,
// its failures logged and not fatal.
func TestRunSnapshotsOnItsOwnTicker(t *testing.T) {
	clk := clock.NewSim(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := &snapshotter{scheduled: make(chan struct{}, 1), called: make(chan int)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result, logged := runEvery(ctx, s, clk, time.Hour, time.Millisecond)
	for want := 1; want <= 5; want++ {
		select {
		case got := <-s.called:
			if got != want {
				t.Fatalf("Snapshot call %d, want %d", got, want)
			}
		case err := <-result:
			t.Fatalf("Run returned %v after %d snapshots", err, want-1)
		}
	}
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	select {
	case <-s.scheduled: // The catch-up run at start.
	default:
		t.Error("RunScheduled was not called at start")
	}
	if errs := logged(); errs != 2 {
		t.Errorf("errors logged: %d, want 2 (the second and fourth snapshots)", errs)
	}
}

// TestRunCatchesUpAtOnceThenTicks: every call is made with the clock's time
// as it reads at that call, and a failed call is logged and retried.
func TestRunCatchesUpAtOnceThenTicks(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewSim(start)
	r := &recorder{called: make(chan time.Time), proceed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result, logged := runEvery(ctx, r, clk, time.Millisecond, time.Hour)
	for i := range 3 {
		var got time.Time
		select {
		case got = <-r.called:
		case err := <-result:
			t.Fatalf("Run returned %v before call %d", err, i+1)
		}
		if want := start.Add(time.Duration(i) * time.Hour); !got.Equal(want) {
			t.Errorf("call %d at %v, want the clock's %v", i+1, got, want)
		}
		// The next call must see the clock moved on, not this reading.
		clk.Set(start.Add(time.Duration(i+1) * time.Hour))
		if i < 2 {
			r.proceed <- struct{}{}
		}
	}
	// The third call is still running: only the second call's failure has
	// been logged (the third, interrupted by the cancel, is not).
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if errs := logged(); errs != 1 {
		t.Errorf("errors logged: %d, want 1 (the second call)", errs)
	}
}

// runEvery starts schedule.RunEvery on r in a goroutine and returns the
// channel of its result and a function counting the errors it logged.
func runEvery(ctx context.Context, r schedule.Runner, clk clock.Clock, interval, snapshotInterval time.Duration) (<-chan error, func() int) {
	var (
		errs   int
		mu     sync.Mutex
		result = make(chan error, 1)
	)
	go func() {
		log := slog.New(countingHandler{func() { mu.Lock(); errs++; mu.Unlock() }})
		result <- schedule.RunEvery(ctx, r, clk, interval, snapshotInterval, log)
	}()
	return result, func() int { mu.Lock(); defer mu.Unlock(); return errs }
}

// countingHandler calls count for every error logged.
type countingHandler struct{ count func() }

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.count()
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }
