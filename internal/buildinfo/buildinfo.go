// Package buildinfo says which build of accrue is running, for the
// --version flag of both binaries and for logs and metrics.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the module version the binary was built at: a release tag
// when built with `go install ...@vX`, else the VCS revision (with
// "+dirty" for a modified work tree) when built from a checkout, else
// "devel".
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "devel"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "+dirty"
	}
	return revision
}

// String is the one line --version prints: program name, version, Go
// version and platform.
func String(program string) string {
	return fmt.Sprintf("%s %s (%s %s/%s)", program, Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
