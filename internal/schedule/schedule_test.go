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

// recorder is a Runner that records the times it was asked about and fails
// every other call.
type recorder struct {
	mu    sync.Mutex
	calls []time.Time
	done  chan struct{}
	want  int
}

func (r *recorder) RunScheduled(_ context.Context, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, now)
	if len(r.calls) == r.want {
		close(r.done)
	}
	if len(r.calls)%2 == 0 {
		return errors.New("database unavailable")
	}
	return nil
}

func TestRunCatchesUpAtOnceThenTicks(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewSim(start)
	r := &recorder{done: make(chan struct{}), want: 3}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		errs   int
		mu     sync.Mutex
		result = make(chan error, 1)
	)
	go func() {
		log := slog.New(countingHandler{func() { mu.Lock(); errs++; mu.Unlock() }})
		result <- schedule.RunEvery(ctx, r, clk, time.Millisecond, log)
	}()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not call the runner three times")
	}
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.calls[0].Equal(start) {
		t.Errorf("first call at %v, want the clock's %v", r.calls[0], start)
	}
	mu.Lock()
	defer mu.Unlock()
	if errs < 1 {
		t.Errorf("errors reported: %d, want at least 1", errs)
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
