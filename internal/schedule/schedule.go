// Package schedule runs accrue's scheduled jobs in real time. Which jobs are
// due, and running them exactly once across processes, is the service's
// business (service.RunScheduled, which Server.RunScheduled exposes, keeps a
// per-program cursor of statement ticks in its own table, closes the due
// periods, seals the journals and expires idempotency records); this
// package only decides when to ask: once at start, to catch up on ticks
// missed while no process ran, then every interval; and, on a ticker of its
// own, to advance the as-of snapshots five times a second (Server.Snapshot). A
// replay does not use it: it calls Server.RunDueCloses and Server.Snapshot
// itself with simulated time before each step.
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

// SnapshotIntervalDefault is how often Run advances the as-of snapshots:
// an as-of read scans the entries not folded yet, so they stay a fifth of
// a second of traffic, and the fold's work goes in small pieces: once a
// second, it took a core for tens of milliseconds at a time, which the
// requests in flight then waited through (PayOrder's p99 at 8
// connections, docs/decisions.md).
const SnapshotIntervalDefault = 200 * time.Millisecond

// Runner runs every scheduled job due at or before now (statement closes,
// journal sealing, command expiry) and advances the as-of snapshots;
// *server.Server implements it.
type Runner interface {
	RunScheduled(ctx context.Context, now time.Time) error
	Snapshot(ctx context.Context) error
}

// Run asks r for due jobs at once and then every IntervalDefault, and for
// a snapshot every SnapshotIntervalDefault, until ctx ends; see RunEvery.
func Run(ctx context.Context, r Runner, clk clock.Clock, log *slog.Logger) error {
	return RunEvery(ctx, r, clk, IntervalDefault, SnapshotIntervalDefault, log)
}

// RunEvery calls r.RunScheduled with clk's time at once and then every
// interval (IntervalDefault when not positive), and r.Snapshot every
// snapshotInterval (SnapshotIntervalDefault when not positive), on tickers
// of their own, until ctx ends, and returns ctx's error. A failed run is
// logged and retried at its next tick: each run is idempotent and resumes
// whatever the last one left undone. The two share one goroutine, so a
// long close delays the snapshots (the next one folds more).
func RunEvery(ctx context.Context, r Runner, clk clock.Clock, interval, snapshotInterval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		interval = IntervalDefault
	}
	if snapshotInterval <= 0 {
		snapshotInterval = SnapshotIntervalDefault
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	snapshots := time.NewTicker(snapshotInterval)
	defer snapshots.Stop()
	runScheduled(ctx, r, clk, log)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			runScheduled(ctx, r, clk, log)
		case <-snapshots.C:
			if err := r.Snapshot(ctx); err != nil && ctx.Err() == nil {
				log.Error("as-of snapshot failed; retrying at the next tick", "err", err)
			}
		}
	}
}

// runScheduled runs the due jobs at clk's time and logs a failure.
func runScheduled(ctx context.Context, r Runner, clk clock.Clock, log *slog.Logger) {
	if err := r.RunScheduled(ctx, clk.Now()); err != nil && ctx.Err() == nil {
		log.Error("scheduled jobs failed; retrying at the next interval", "err", err)
	}
}
