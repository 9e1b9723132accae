package server

import (
	"encoding/csv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestExportStatementsReconciles exports a closed month as CSV and checks
// that, per account, the opening balance plus the lines equals the closing
// balance, and that the release appears as a line.
func TestExportStatementsReconciles(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("ann", "", day(1, 2))
	h.register("bob", "ann", day(1, 2))
	h.pay("o1", "bob", "1500.00", day(1, 5))
	h.refund("o1", "100.00", day(1, 9))
	h.close("2026-01", day(2, 2))

	resp, err := (&periodService{h.srv}).ExportStatements(h.ctx, connect.NewRequest(&accruev1.ExportStatementsRequest{
		Program: testProgram, Period: "2026-01"}))
	h.must(err)
	rows, err := csv.NewReader(strings.NewReader(resp.Msg.GetCsv())).ReadAll()
	h.must(err)
	if len(rows) < 2 || rows[0][6] != "kind" || rows[0][8] != "amount" {
		t.Fatalf("header %v", rows[0])
	}
	type key struct{ partner, account string }
	opening, moved, closing := map[key]decimal.Decimal{}, map[key]decimal.Decimal{}, map[key]decimal.Decimal{}
	kinds := map[string]int{}
	for _, r := range rows[1:] {
		k, amount := key{r[0], r[7]}, decimal.RequireFromString(r[8])
		kinds[r[6]]++
		switch r[6] {
		case "upline": // ann must not learn bob's customers
			if r[10] != "o1" || r[11] != "" {
				t.Errorf("ann's upline line names order %q and customer %q, want o1 and no customer", r[10], r[11])
			}
		case "accrual":
			if r[11] != "c-o1" {
				t.Errorf("bob's accrual line names customer %q, want c-o1", r[11])
			}
		}
		switch r[6] {
		case "opening_balance":
			opening[k] = amount
		case "closing_balance":
			closing[k] = amount
		default:
			moved[k] = moved[k].Add(amount)
		}
	}
	if len(closing) != 8 {
		t.Fatalf("closing balances for %d accounts, want 4 for each of 2 partners: %v", len(closing), closing)
	}
	for k, c := range closing {
		if !opening[k].Add(moved[k]).Equal(c) {
			t.Errorf("%v: opening %s + lines %s != closing %s", k, opening[k], moved[k], c)
		}
	}
	if want := decimal.RequireFromString("140.00"); !closing[key{"bob", "partner:bob:payable"}].Equal(want) {
		t.Errorf("bob payable %s, want 140.00 (150 - 10, released)", closing[key{"bob", "partner:bob:payable"}])
	}
	if kinds["release"] != 2 || kinds["accrual"] != 1 || kinds["upline"] != 1 {
		t.Errorf("line kinds %v, want a release pair, bob's accrual and ann's upline bonus", kinds)
	}
}
