package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestTwoReplaysAtOnce runs two `accrue replay --check` with the embedded
// PostgreSQL at the same time, as two shells on one machine would: each gets
// a cluster of its own in a fresh temporary directory, both pass, and
// neither leaves its directory behind.
func TestTwoReplaysAtOnce(t *testing.T) {
	tmp, err := os.MkdirTemp("", "replay-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	// As root, the postgres OS user runs each cluster and must traverse this.
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("ACCRUE_DATABASE_URL", "")
	scenario := filepath.Join("..", "..", "testdata", "scenarios", "10-rounding-half-away.yaml")
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run(context.Background(), []string{"replay", "--check", scenario}, &outs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || !strings.HasPrefix(outs[i].String(), "PASS ") {
			t.Errorf("replay %d: %v\n%s", i, err, outs[i].String())
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if strings.HasPrefix(e.Name(), "accrue-replay") {
			t.Errorf("%s is left behind in the temporary directory", e.Name())
		}
	}
}
