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

// TestRunCatchesUpAtOnceThenTicks: every call is made with the clock's time
// as it reads at that call, and a failed call is logged and retried.
func TestRunCatchesUpAtOnceThenTicks(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewSim(start)
	r := &recorder{called: make(chan time.Time), proceed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		errs   int
		mu     sync.Mutex
		result = make(chan error, 1)
	)
	go func() {
		log := slog.New(countingHandler{func() { mu.Lock(); errs++; mu.Unlock() }})
		result <- schedule.RunEvery(ctx, r, clk, time.Millisecond, log)
	}()
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
	mu.Lock()
	defer mu.Unlock()
	if errs != 1 {
		t.Errorf("errors logged: %d, want 1 (the second call)", errs)
	}
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
