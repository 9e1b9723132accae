package pdf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/pdf/pdftest"
)

func sample() Statement {
	return Statement{
		Program: "магазин", Currency: "RUB", Partner: "ivan", Name: "Иван Петров",
		Period: "2026-02", Status: "final", Released: "1150.00", DueDate: "2026-03-15",
		IssuedAt: time.Date(2026, 3, 1, 0, 0, 5, 0, time.UTC),
		Opening:  Balances{Pending: "0.00", Accrued: "450.00", Payable: "0.00", InPayout: "0.00"},
		Closing:  Balances{Pending: "0.00", Accrued: "0.00", Payable: "1150.00", InPayout: "300.00"},
		Lines: []Line{
			{Date: "2026-02-03", Kind: "accrual", Description: "Комиссия за заказ o1 (покупатель c1)", Account: "accrued", Amount: "700.00"},
			{Date: "2026-02-28", Kind: "release", Description: "Released to payable", Account: "payable", Amount: "1150.00"},
		},
	}
}

func TestRenderCyrillic(t *testing.T) {
	doc, err := Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", doc[:min(len(doc), 16)])
	}
	got := pdftest.Text(t, doc)
	for _, want := range []string{"Иван Петров", "магазин", "Комиссия за заказ o1", "1150.00 RUB", "2026-03-15", "In payout", "300.00", "final"} {
		if !strings.Contains(got, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, got)
		}
	}
}

func TestRenderPreliminaryReason(t *testing.T) {
	st := sample()
	st.Status, st.Reason, st.Released, st.Lines = "preliminary", "52.00 of the 100.00 minimum", "0.00", nil
	doc, err := Render(st)
	if err != nil {
		t.Fatal(err)
	}
	got := pdftest.Text(t, doc)
	for _, want := range []string{"preliminary: 52.00 of the 100.00 minimum", "No postings in this period."} {
		if !strings.Contains(got, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, got)
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	a, err := Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(sample())
	if !bytes.Equal(a, b) {
		t.Fatal("the same statement rendered to different bytes")
	}
}

func TestRenderBounded(t *testing.T) {
	st := sample()
	st.Lines = make([]Line, LinesMax+1)
	if _, err := Render(st); err == nil {
		t.Fatal("a statement over LinesMax lines rendered")
	}
}
