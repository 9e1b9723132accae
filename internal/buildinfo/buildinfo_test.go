package buildinfo

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	got := String("accrue")
	if !strings.HasPrefix(got, "accrue ") || !strings.Contains(got, "go1.") {
		t.Fatalf("String = %q, want program name, version and Go version", got)
	}
	if Version() == "" {
		t.Fatal("Version is empty")
	}
}
