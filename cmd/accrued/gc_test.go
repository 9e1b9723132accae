package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestTuneGCDefaultsUnlessTheEnvironmentSetsThem(t *testing.T) {
	gc, limit := currentGCPercent(), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	tuneGC(env(nil), log)
	if got := currentGCPercent(); got != gcPercentDefault {
		t.Errorf("GOGC unset: gc percent %d, want %d", got, gcPercentDefault)
	}
	if got := debug.SetMemoryLimit(-1); got != memoryLimitDefault {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, memoryLimitDefault)
	}

	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 40)
	tuneGC(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1TiB"}), log)
	if got := currentGCPercent(); got != 150 {
		t.Errorf("GOGC=150: gc percent %d, want the environment's 150", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("GOMEMLIMIT=1TiB: memory limit %d, want the environment's", got)
	}
}
