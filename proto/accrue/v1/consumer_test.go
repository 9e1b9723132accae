package accruev1_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// consumerMain is a program of another module that uses the client.
const consumerMain = `package main

import (
	"context"
	"fmt"
	"net/http"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func main() {
	partners := accruev1connect.NewPartnerServiceClient(http.DefaultClient, "http://127.0.0.1:7070")
	res, err := partners.GetPartner(context.Background(), connect.NewRequest(&accruev1.GetPartnerRequest{Program: "shop", Partner: "alice"}))
	if err != nil {
		fmt.Println(connect.CodeOf(err))
		return
	}
	fmt.Println(res.Msg.Partner.GetCode())
}
`

// consumerInternal is a program of that module that reaches into accrue's
// internal packages, which Go forbids.
const consumerInternal = `package main

import "github.com/accrue/accrue/internal/server"

var _ = server.New

func main() {}
`

// TestSeparateModuleImportsClient: a module of its own (example.com/consumer,
// accrue replaced by this checkout) builds a program with accruev1 and
// accruev1connect, offline from the module cache, and cannot build one that
// imports accrue's internal packages.
func TestSeparateModuleImportsClient(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the consumer module: %v", err)
	}
	root := moduleRoot(t, goTool)
	dir := t.TempDir()
	goMod := "module example.com/consumer\n\ngo " + goVersion(t, root) + "\n\n" +
		"require github.com/accrue/accrue v0.0.0\n\n" +
		"replace github.com/accrue/accrue => " + root + "\n"
	writeFile(t, filepath.Join(dir, "go.mod"), goMod)
	// accrue's go.sum has the hashes of everything the client needs, so no
	// checksum database is asked.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	writeFile(t, filepath.Join(dir, "main.go"), consumerMain)
	writeFile(t, filepath.Join(dir, "internalimport", "main.go"), consumerInternal)

	if out, err := goBuild(t, goTool, dir, "."); err != nil {
		t.Fatalf("the consumer module does not build: %v\n%s", err, out)
	}
	out, err := goBuild(t, goTool, dir, "./internalimport")
	if err == nil {
		t.Fatal("a module outside accrue built a program importing accrue/internal/server")
	}
	if !strings.Contains(out, "use of internal package github.com/accrue/accrue/internal/server not allowed") {
		t.Fatalf("importing an internal package failed, but not for the internal boundary:\n%s", out)
	}
}

// goBuild runs go build on pkg in the consumer module dir, offline: modules
// come from the local cache only.
func goBuild(t *testing.T, goTool, dir, pkg string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", os.DevNull, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// moduleRoot is the directory of accrue's go.mod.
func moduleRoot(t *testing.T, goTool string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	goMod := strings.TrimSpace(string(out))
	if filepath.Base(goMod) != "go.mod" {
		t.Fatalf("go env GOMOD = %q: not inside accrue's module", goMod)
	}
	return filepath.Dir(goMod)
}

// goVersion is the go line of accrue's go.mod: the consumer needs at least
// that.
func goVersion(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("accrue's go.mod has no go line")
	return ""
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
