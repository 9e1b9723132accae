package main

import (
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
)

// The collector's defaults. accrued's heap is mostly short-lived request
// garbage (decoded requests, encoded responses and statement arguments)
// over a small live set, so at Go's default GOGC=100 the collector ran
// often: about a sixth of accrued's CPU under PayOrder load. At 400 it runs
// a quarter as often; back to back, PayOrder read 8–12 % more orders a
// second (docs/performance.md). The soft memory limit bounds what the
// larger GOGC lets the heap grow to: near it the collector runs sooner.
const (
	gcPercentDefault   = 400
	memoryLimitDefault = 1 << 30 // bytes
)

// tuneGC sets the collector's defaults where the environment does not set
// its own: GOGC and GOMEMLIMIT, which the Go runtime reads itself, win.
func tuneGC(getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentDefault)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimitDefault)
	}
	log.Debug("garbage collector", "gc_percent", currentGCPercent(), "memory_limit", debug.SetMemoryLimit(-1))
}

// currentGCPercent reads the GOGC in force from the runtime's metrics,
// without setting it.
func currentGCPercent() int {
	sample := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(sample)
	return int(sample[0].Value.Uint64())
}
