package archtest

import (
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/accrue/accrue/"

// wire is what only the Connect edge (internal/server) may import: the
// transport, the generated API and protobuf.
var wire = []string{"connectrpc.com/", module + "proto/", "google.golang.org/protobuf"}

// layer is an import rule of one package: the import paths (prefixes) it
// may not import, or, when pure, the only ones outside the standard
// library it may.
type layer struct {
	dir    string // relative to the module root
	banned []string
	pure   []string
}

// layers is the map of the README's architecture section: the server is
// Connect without SQL; nothing below it knows the wire; the domain
// decides without a database.
var layers = []layer{
	{dir: "internal/server", banned: []string{"github.com/jackc/pgx"}},
	{dir: "internal/service", banned: wire},
	{dir: "internal/store", banned: wire},
	{dir: "internal/affiliate", pure: []string{
		module + "rules", module + "ledger", "github.com/shopspring/decimal",
		module + "internal/fault", module + "internal/money",
	}},
	{dir: "ledger", banned: wire},
	{dir: "rules", banned: wire},
	{dir: "internal/txn", banned: wire},
	{dir: "internal/fault", banned: wire},
	{dir: "internal/money", banned: wire},
}

// TestLayersImport: each layer's non-test files import only what its
// place in the map allows.
func TestLayersImport(t *testing.T) {
	root := moduleRoot(t)
	for _, l := range layers {
		files := packageImports(t, filepath.Join(root, l.dir))
		if len(files) == 0 {
			t.Errorf("%s: no Go files; the rule checks nothing", l.dir)
		}
		for _, v := range l.violations(files) {
			t.Errorf("%s/%s", l.dir, v)
		}
	}
}

// TestLayerViolations: the rules catch what they forbid and pass the rest.
func TestLayerViolations(t *testing.T) {
	files := map[string][]string{
		"a.go": {"context", "github.com/jackc/pgx/v5", "connectrpc.com/connect"},
		"b.go": {module + "rules", module + "proto/accrue/v1"},
	}
	for _, tc := range []struct {
		layer layer
		want  []string
	}{
		{layers[0], []string{"a.go imports github.com/jackc/pgx/v5"}},
		{layer{banned: wire}, []string{"a.go imports connectrpc.com/connect", "b.go imports " + module + "proto/accrue/v1"}},
		{layer{pure: []string{module + "rules"}}, []string{
			"a.go imports github.com/jackc/pgx/v5", "a.go imports connectrpc.com/connect",
			"b.go imports " + module + "proto/accrue/v1",
		}},
	} {
		if got := tc.layer.violations(files); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: violations %q, want %q", tc.layer, got, tc.want)
		}
	}
}

// violations lists "file imports path" for each import files make that
// the layer does not allow, by file name and then in import order.
func (l layer) violations(files map[string][]string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		for _, path := range files[name] {
			if !l.allows(path) {
				out = append(out, name+" imports "+path)
			}
		}
	}
	return out
}

func (l layer) allows(path string) bool {
	if l.pure != nil {
		return standard(path) || slices.Contains(l.pure, path)
	}
	return !slices.ContainsFunc(l.banned, func(prefix string) bool { return strings.HasPrefix(path, prefix) })
}

// standard reports whether path is in the standard library: its first
// element has no dot.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// packageImports returns the import paths of each non-test Go file in dir
// (not its subdirectories), by file name.
func packageImports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, path)
		}
		files[e.Name()] = paths
	}
	return files
}
