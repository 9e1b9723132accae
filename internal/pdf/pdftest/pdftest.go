// Package pdftest reads PDF documents back for tests, with poppler's
// pdftotext.
package pdftest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Text is doc's text as pdftotext -layout extracts it. CI installs
// pdftotext (make deps: poppler-utils); where it is missing the test fails
// under CI and is skipped, saying why, elsewhere.
func Text(t testing.TB, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext is missing: make deps installs poppler-utils")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils, or make deps): cannot read the PDF back")
	}
	cmd := exec.Command(bin, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
