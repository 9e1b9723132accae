package apidoc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/accrue/accrue/proto/accrue/v1" // registers accrue.v1's files
)

// sections splits a reference into its "### Title" sections by title.
func sections(doc string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(doc, "\n### ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		out[title] = body
	}
	return out
}

// TestReferenceCoversEveryDeclaration: the committed docs/api.md has a
// section for every service, message and enum compiled into accruev1, a
// heading for every RPC, and a row for every field and enum value.
func TestReferenceCoversEveryDeclaration(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", FileName))
	if err != nil {
		t.Fatal(err)
	}
	secs := sections(string(doc))
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("accrue.v1", func(f protoreflect.FileDescriptor) bool {
		n++
		for i := range f.Services().Len() {
			s := f.Services().Get(i)
			for j := range s.Methods().Len() {
				want := fmt.Sprintf("#### %s.%s\n", s.Name(), s.Methods().Get(j).Name())
				if !strings.Contains(secs[title(s)], want) {
					t.Errorf("docs/api.md: no %q in the section of %s", want, s.FullName())
				}
			}
		}
		checkMessages(t, secs, f.Messages())
		checkEnums(t, secs, f.Enums())
		return true
	})
	if n == 0 {
		t.Fatal("no accrue.v1 files registered: the check checked nothing")
	}
}

func checkMessages(t *testing.T, secs map[string]string, ms protoreflect.MessageDescriptors) {
	t.Helper()
	for i := range ms.Len() {
		m := ms.Get(i)
		if m.IsMapEntry() {
			continue
		}
		sec, ok := secs[title(m)]
		if !ok {
			t.Errorf("docs/api.md: no section for %s", m.FullName())
		}
		for j := range m.Fields().Len() {
			f := m.Fields().Get(j)
			if row := fmt.Sprintf("| `%s` | %d |", f.Name(), f.Number()); !strings.Contains(sec, row) {
				t.Errorf("docs/api.md: %s has no row %q", m.FullName(), row)
			}
		}
		checkMessages(t, secs, m.Messages())
		checkEnums(t, secs, m.Enums())
	}
}

func checkEnums(t *testing.T, secs map[string]string, es protoreflect.EnumDescriptors) {
	t.Helper()
	for i := range es.Len() {
		e := es.Get(i)
		sec, ok := secs[title(e)]
		if !ok {
			t.Errorf("docs/api.md: no section for %s", e.FullName())
		}
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			if row := fmt.Sprintf("| `%s` | %d |", v.Name(), v.Number()); !strings.Contains(sec, row) {
				t.Errorf("docs/api.md: %s has no row %q", e.FullName(), row)
			}
		}
	}
}
