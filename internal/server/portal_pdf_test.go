package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/pdf/pdftest"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestStatementPDF renders January's statements over the API: ivan's,
// final, shows the released amount and his Cyrillic name; anna's,
// preliminary, says how far she is from the minimum.
func TestStatementPDF(t *testing.T) {
	f := newPortalFixture(t)
	portal := f.portal(f.hs.Client(), bearer(adminKey))
	resp, err := portal.GetStatementPDF(f.ctx, connect.NewRequest(&accruev1.GetStatementPDFRequest{
		Program: "shop", Partner: "ivan", Period: "2026-01", IncludePrivate: true}))
	f.must(err)
	if got := resp.Msg.GetFilename(); got != "statement-shop-ivan-2026-01.pdf" {
		t.Errorf("filename %q", got)
	}
	text := pdftest.Text(t, resp.Msg.GetPdf())
	for _, want := range []string{"Иван Петров", "115.00 RUB", "final: released 115.00", "In payout", "Commission on order o-ivan"} {
		if !strings.Contains(text, want) {
			t.Errorf("ivan's PDF lacks %q:\n%s", want, text)
		}
	}
	resp, err = portal.GetStatementPDF(f.ctx, connect.NewRequest(&accruev1.GetStatementPDFRequest{
		Program: "shop", Partner: "anna", Period: "2026-01"}))
	f.must(err)
	text = pdftest.Text(t, resp.Msg.GetPdf())
	if !strings.Contains(text, "preliminary: 52.00 of the 100.00 minimum") || strings.Contains(text, "Anna Smith") {
		t.Errorf("anna's PDF, without private details:\n%s", text)
	}
	for _, bad := range []struct {
		req   *accruev1.GetStatementPDFRequest
		code  connect.Code
		field string
	}{
		{&accruev1.GetStatementPDFRequest{Program: "shop", Partner: "ivan", Period: "2026-13"}, connect.CodeInvalidArgument, "period"},
		{&accruev1.GetStatementPDFRequest{Program: "shop", Partner: "", Period: "2026-01"}, connect.CodeInvalidArgument, "partner"},
		{&accruev1.GetStatementPDFRequest{Program: "shop", Partner: "ivan", Period: "2026-02"}, connect.CodeNotFound, ""},
	} {
		_, err := portal.GetStatementPDF(f.ctx, connect.NewRequest(bad.req))
		if connect.CodeOf(err) != bad.code || (bad.field != "" && !strings.Contains(err.Error(), bad.field)) {
			t.Errorf("%v: %v, want %v naming %q", bad.req, err, bad.code, bad.field)
		}
	}
}

// TestStatementPDFDownload serves the PDF at a plain URL with the RPC's
// rules: ivan's key downloads his own, not anna's; an auditor gets it
// without the private name only; no credentials, no document.
func TestStatementPDFDownload(t *testing.T) {
	f := newPortalFixture(t)
	c := f.hs.Client()
	resp := f.get(c, "/v1/statements/shop/ivan/2026-01.pdf?include_private=true", "Authorization", "Bearer "+ivanKey)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("ivan's download: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "statement-shop-ivan-2026-01.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if text := pdftest.Text(t, body); !strings.Contains(text, "Иван Петров") || !strings.Contains(text, "115.00") {
		t.Errorf("the download's text:\n%s", text)
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/v1/statements/shop/anna/2026-01.pdf", ivanKey, http.StatusForbidden},
		{"/v1/statements/shop/ivan/2026-01.pdf", "", http.StatusUnauthorized},
		{"/v1/statements/shop/ivan/2026-01.pdf?include_private=true", auditorKey, http.StatusForbidden},
		{"/v1/statements/shop/ivan/2026-01.pdf", auditorKey, http.StatusOK},
		{"/v1/statements/shop/ivan/2026-12.pdf", adminKey, http.StatusNotFound},
		{"/v1/statements/shop/ivan/2026-01.txt", adminKey, http.StatusNotFound},
	} {
		header := []string{}
		if tc.token != "" {
			header = []string{"Authorization", "Bearer " + tc.token}
		}
		if got := f.get(c, tc.path, header...).StatusCode; got != tc.status {
			t.Errorf("GET %s as %q: %d, want %d", tc.path, tc.token, got, tc.status)
		}
	}
}
