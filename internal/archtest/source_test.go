package archtest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// moduleRoot returns the directory of the module's go.mod, found upward
// from the test's working directory (its package directory).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("archtest: no go.mod above the working directory")
		}
		dir = parent
	}
}
