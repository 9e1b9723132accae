// Package schedule runs accrue's scheduled jobs in real time. Which jobs are
// due, and running them exactly once across processes, is the service's
// business (service.RunScheduled, which Server.RunScheduled exposes, keeps a
// per-program cursor of statement ticks in its own table, closes the due
// periods, seals the journals and expires idempotency records); this
// package only decides when to ask: once at start, to catch up on ticks
// missed while no process ran, then every interval. A replay does not use
// it: it calls Server.RunDueCloses itself with simulated time before each
// step.
package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/accrue/accrue/internal/clock"
)

// IntervalDefault is how often Run looks for due jobs. Statement schedules
// are cron expressions with minute resolution, so a minute is enough.
const IntervalDefault = time.Minute

// Runner runs every scheduled job due at or before now (statement closes,
// journal sealing, command expiry); *server.Server implements it.
type Runner interface {
	RunScheduled(ctx context.Context, now time.Time) error
}

// Run asks r for due jobs at once and then every IntervalDefault until ctx
// ends; see RunEvery.
func Run(ctx context.Context, r Runner, clk clock.Clock, log *slog.Logger) error {
	return RunEvery(ctx, r, clk, IntervalDefault, log)
}

// RunEvery calls r.RunScheduled with clk's time at once and then every
// interval (IntervalDefault when not positive) until ctx ends, and returns
// ctx's error. A failed run is logged and retried at the next interval:
// each run is idempotent and resumes whatever the last one left undone.
func RunEvery(ctx context.Context, r Runner, clk clock.Clock, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		interval = IntervalDefault
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := r.RunScheduled(ctx, clk.Now()); err != nil && ctx.Err() == nil {
			log.Error("scheduled jobs failed; retrying at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
