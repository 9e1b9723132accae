package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKeyFileReload: a reload puts the file's new keys in force and drops
// the removed ones; a file that no longer parses keeps the keys in force.
func TestKeyFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old-token-0123456789 admin *\n")
	f, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	has := func(token string) bool { _, ok := f.Keys().lookup(token); return ok }
	if !has("old-token-0123456789") {
		t.Fatal("the first key is not in force")
	}
	write("new-token-0123456789 admin *\n")
	if n, err := f.Reload(); n != 1 || err != nil {
		t.Fatalf("Reload = %d, %v", n, err)
	}
	if !has("new-token-0123456789") || has("old-token-0123456789") {
		t.Fatal("after the reload the new key must work and the removed one must not")
	}
	for _, bad := range []string{"", "short admin *\n"} {
		write(bad)
		if _, err := f.Reload(); err == nil {
			t.Fatalf("Reload of %q succeeded", bad)
		}
		if !has("new-token-0123456789") {
			t.Fatalf("a bad file (%q) dropped the keys in force", bad)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Reload(); err == nil || !has("new-token-0123456789") {
		t.Fatalf("Reload of a missing file: %v; the keys in force must stay", err)
	}
}
