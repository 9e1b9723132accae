package accruev1_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tourRunner calls web/example/tour.ts's tour (compiled to CommonJS beside
// it) with a base URL and a program, and prints its lines.
const tourRunner = `const { tour } = require("./example/tour.js");
tour(process.argv[2], process.argv[3]).then(
  (lines) => console.log(lines.join("\n")),
  (err) => { console.error(err); process.exit(1); },
);
`

// TestTypeScriptClient: the generated TypeScript client (web/gen), with
// @connectrpc/connect-web's transport under Node, runs web/example/tour.ts
// against accrued and sees what the Go example sees.
func TestTypeScriptClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the TypeScript client: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to find the module root: %v", err)
	}
	root := moduleRoot(t, goTool)
	tsc := filepath.Join(root, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("no TypeScript compiler (make deps runs npm ci): %v", err)
	}
	out := t.TempDir()
	runNode(t, root, node, tsc, "-p", filepath.Join(root, "tsconfig.gen.json"), "--noEmit", "false",
		"--outDir", out, "--rootDir", filepath.Join(root, "web"),
		"--module", "commonjs", "--moduleResolution", "node10", "--verbatimModuleSyntax", "false")
	writeFile(t, filepath.Join(out, "run.js"), tourRunner)

	got := runNode(t, root, node, filepath.Join(out, "run.js"), baseURL, "web")
	want := "registered alice with code ALICE\n" +
		"order o-1001 attributed to alice\n" +
		"closed 2026-01 released 125.00\n" +
		"statement alice 2026-01: final, payable 125.00, due 2026-02-15\n"
	if got != want {
		t.Errorf("the TypeScript tour printed\n%s\nwant\n%s", got, want)
	}
}

// runNode runs node with args in dir, resolving packages from the
// repository's node_modules, and returns its standard output.
func runNode(t *testing.T, root, node string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), node, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(root, "node_modules"))
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			out = append(out, exit.Stderr...)
		}
		t.Fatalf("node %v: %v\n%s", args, err, out)
	}
	return string(out)
}
