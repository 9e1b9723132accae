package affiliate_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The domain is pure: its files import only rules, ledger, decimal,
// internal/fault, internal/money and the standard library.
func TestImportsArePure(t *testing.T) {
	allowed := map[string]bool{
		"github.com/accrue/accrue/rules": true, "github.com/accrue/accrue/ledger": true,
		"github.com/shopspring/decimal": true, "github.com/accrue/accrue/internal/fault": true,
		"github.com/accrue/accrue/internal/money": true,
	}
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
			if strings.Contains(path, ".") && !allowed[path] {
				t.Errorf("%s imports %s", e.Name(), path)
			}
		}
	}
}
