package server

import (
	"encoding/csv"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/money"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestExportEscapesFormulas: a partner-facing CSV export never carries a
// free-text cell a spreadsheet would run as a formula (an order id "=1+2"
// appeared raw), while amounts, negative ones included, stay numbers.
func TestExportEscapesFormulas(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("-rob", "", day(time.January, 2))
	h.pay("=1+2", "-rob", "1500.00", day(time.January, 5))
	h.pay("@SUM(A1)", "-rob", "100.00", day(time.January, 6))
	h.refund("=1+2", "100.00", day(time.January, 9))
	h.close("2026-01", day(time.February, 2))

	hs := httptest.NewServer(h.srv.Handler())
	t.Cleanup(hs.Close)
	periods := accruev1connect.NewPeriodServiceClient(hs.Client(), hs.URL)
	resp, err := periods.ExportStatements(h.ctx, connect.NewRequest(&accruev1.ExportStatementsRequest{Program: testProgram, Period: "2026-01"}))
	h.must(err)
	rows, err := csv.NewReader(strings.NewReader(resp.Msg.GetCsv())).ReadAll()
	h.must(err)
	orders := map[string]bool{}
	negative := false
	for _, r := range rows[1:] {
		for i, cell := range r {
			if i == 3 || i == 8 { // released, amount
				if _, err := money.Parse(cell, 2); err != nil {
					t.Errorf("amount cell %d %q is not a plain decimal: %v", i, cell, err)
				}
				negative = negative || strings.HasPrefix(cell, "-")
				continue
			}
			if cell != "" && strings.ContainsRune(csvFormulaStarts, rune(cell[0])) {
				t.Errorf("column %s: cell %q starts like a formula", rows[0][i], cell)
			}
		}
		if r[0] != "'-rob" {
			t.Errorf("partner cell %q, want '-rob", r[0])
		}
		orders[r[10]] = true
	}
	if !orders["'=1+2"] || !orders["'@SUM(A1)"] {
		t.Errorf("order cells %v, want '=1+2 and '@SUM(A1)", orders)
	}
	if !negative {
		t.Error("no negative amount: the refund's reversal should be one, unescaped")
	}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx",
		"o1": "o1", "": "", "a=b": "a=b", "'x": "'x",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}
