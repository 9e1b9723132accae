// Package archtest holds the tests that enforce the module's shape: which
// layer may import what (imports_test.go) and how long a hand-written
// function or file may grow (size_test.go). It has no code of its own; the
// tests read the module's source with go/parser, so they run with the
// others in `make test`.
package archtest
