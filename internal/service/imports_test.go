package service_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The service knows no wire: no connect, no generated API, no protobuf.
func TestImportsNoWire(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"connectrpc.com/", "github.com/accrue/accrue/internal/gen", "google.golang.org/protobuf"} {
				if strings.HasPrefix(path, banned) {
					t.Errorf("%s imports %s", e.Name(), path)
				}
			}
		}
	}
}
