package pgembed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// debianRoot is where Debian's postgresql-NN packages put their server
// binaries, one directory per major version.
const debianRoot = "/usr/lib/postgresql"

// serverPrograms must all live in one directory for it to count as a server
// installation: client-only packages ship pg_ctl-less bin directories.
var serverPrograms = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres: the
// newest /usr/lib/postgresql/VERSION/bin that has all three (versions compared
// numerically, so 15 beats 9.6), else the directory of initdb on PATH.
func FindBinaries() (dir string, err error) {
	return findBinaries(debianRoot, exec.LookPath)
}

func findBinaries(root string, lookPath func(string) (string, error)) (string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "*", "bin"))
	if err != nil {
		return "", fmt.Errorf("pgembed: glob %s: %w", root, err)
	}
	sort.Slice(matches, func(i, j int) bool {
		// Newest first.
		return versionLess(versionOf(matches[j]), versionOf(matches[i]))
	})
	for _, dir := range matches {
		if hasServerPrograms(dir) {
			return dir, nil
		}
	}
	initdb, err := lookPath("initdb")
	if err == nil {
		dir := filepath.Dir(initdb)
		if hasServerPrograms(dir) {
			return dir, nil
		}
	}
	return "", errors.New("pgembed: no PostgreSQL server binaries (initdb, pg_ctl, postgres) in " +
		root + "/*/bin or on PATH; install them with `make deps` or " +
		"`apt-get install -y postgresql`")
}

func hasServerPrograms(dir string) bool {
	for _, name := range serverPrograms {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf parses the VERSION of ROOT/VERSION/bin into its numeric parts
// ("9.6" → [9 6]); a name that is not a version sorts lowest.
func versionOf(binDir string) []int {
	name := filepath.Base(filepath.Dir(binDir))
	var parts []int
	for _, field := range strings.Split(name, ".") {
		n, err := strconv.Atoi(field)
		if err != nil {
			return nil
		}
		parts = append(parts, n)
	}
	return parts
}

func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
