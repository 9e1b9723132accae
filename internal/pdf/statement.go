// Package pdf renders a partner's monthly statement as a PDF document
// (github.com/go-pdf/fpdf), in DejaVu Sans, embedded here, so Cyrillic
// names and descriptions print as they are.
//
// pdf is pure: a Statement in, bytes out; no database, no clock, no wire.
// The caller formats every amount (with the currency's decimals) and every
// date; pdf only lays them out.
package pdf

import (
	"bytes"
	_ "embed"
	"fmt"
	"time"

	"github.com/go-pdf/fpdf"
)

// DejaVu Sans (fonts/LICENSE): the regular and bold faces.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// LinesMax bounds the lines one document prints; a statement with more is
// refused (the CSV export carries any number).
const LinesMax = 10000

// Statement is what one statement document shows; amounts are formatted
// strings ("52.00"), dates YYYY-MM-DD.
type Statement struct {
	Program, Currency string
	// Partner is the partner's id; Name its contact name, empty when not
	// given or not to be shown.
	Partner, Name string
	// Period is YYYY-MM; Status "final" or "preliminary"; Reason says why
	// in a sentence ("52.00 of the 100.00 minimum").
	Period, Status, Reason string
	Released, DueDate      string
	IssuedAt               time.Time
	// Opening and Closing are the balances at the period's edges.
	Opening, Closing Balances
	Lines            []Line
}

// Balances are a partner's four earnings balances.
type Balances struct {
	Pending, Accrued, Payable, InPayout string
}

// Line is one posting on the statement.
type Line struct {
	Date, Kind, Description, Account, Amount string
}

// Page geometry, in millimetres (A4 portrait).
const (
	marginMm     = 15.0
	widthMm      = 210.0 - 2*marginMm
	rowMm        = 6.0
	fontSizeBody = 9.0
)

// Render returns st as a PDF document. The document is deterministic: the
// same statement renders to the same bytes (its dates are the statement's
// own issue time).
func Render(st Statement) ([]byte, error) {
	if len(st.Lines) > LinesMax {
		return nil, fmt.Errorf("pdf: %d lines, at most %d", len(st.Lines), LinesMax)
	}
	doc := fpdf.New("P", "mm", "A4", "")
	doc.AddUTF8FontFromBytes("DejaVu", "", fontRegular)
	doc.AddUTF8FontFromBytes("DejaVu", "B", fontBold)
	doc.SetMargins(marginMm, marginMm, marginMm)
	doc.SetAutoPageBreak(true, marginMm)
	doc.SetCreationDate(st.IssuedAt)
	doc.SetModificationDate(st.IssuedAt)
	doc.SetCatalogSort(true)
	doc.SetTitle(fmt.Sprintf("Statement %s %s", st.Partner, st.Period), true)
	doc.SetCreator("accrue", true)
	doc.AliasNbPages("")
	doc.SetFooterFunc(func() {
		doc.SetY(-marginMm)
		doc.SetFont("DejaVu", "", 7)
		doc.CellFormat(0, 5, fmt.Sprintf("%s · %s · %s · page %d of {nb}", st.Program, st.Partner, st.Period, doc.PageNo()), "", 0, "C", false, 0, "")
	})
	doc.AddPage()
	header(doc, st)
	balances(doc, st)
	lines(doc, st.Lines)
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: rendering statement %s %s: %w", st.Partner, st.Period, err)
	}
	return buf.Bytes(), nil
}

// header prints the title and the statement's facts.
func header(doc *fpdf.Fpdf, st Statement) {
	doc.SetFont("DejaVu", "B", 16)
	doc.CellFormat(widthMm, 10, "Statement "+st.Period, "", 1, "L", false, 0, "")
	partner := st.Partner
	if st.Name != "" {
		partner = st.Name + " (" + st.Partner + ")"
	}
	status := st.Status
	if st.Reason != "" {
		status += ": " + st.Reason
	}
	facts := [][2]string{
		{"Program", st.Program},
		{"Partner", partner},
		{"Period", st.Period},
		{"Currency", st.Currency},
		{"Status", status},
		{"Released", st.Released + " " + st.Currency},
		{"Due date", st.DueDate},
		{"Issued", st.IssuedAt.UTC().Format("2006-01-02 15:04 UTC")},
	}
	for _, f := range facts {
		doc.SetFont("DejaVu", "B", fontSizeBody)
		doc.CellFormat(30, rowMm, f[0], "", 0, "L", false, 0, "")
		doc.SetFont("DejaVu", "", fontSizeBody)
		doc.MultiCell(widthMm-30, rowMm, f[1], "", "L", false)
	}
	doc.Ln(4)
}

// balances prints the opening and closing balances of every account.
func balances(doc *fpdf.Fpdf, st Statement) {
	cols := []float64{60, 60, 60}
	row(doc, cols, true, "L", "Balance ("+st.Currency+")", "Opening", "Closing")
	for _, b := range [][3]string{
		{"Pending", st.Opening.Pending, st.Closing.Pending},
		{"Accrued", st.Opening.Accrued, st.Closing.Accrued},
		{"Payable", st.Opening.Payable, st.Closing.Payable},
		{"In payout", st.Opening.InPayout, st.Closing.InPayout},
	} {
		row(doc, cols, false, "R", b[0], b[1], b[2])
	}
	doc.Ln(4)
}

// lines prints every line of the statement, or says there is none.
func lines(doc *fpdf.Fpdf, ls []Line) {
	cols := []float64{22, 24, 90, 20, 24}
	row(doc, cols, true, "L", "Date", "Kind", "Description", "Account", "Amount")
	if len(ls) == 0 {
		doc.SetFont("DejaVu", "", fontSizeBody)
		doc.CellFormat(widthMm, rowMm, "No postings in this period.", "1", 1, "L", false, 0, "")
		return
	}
	for _, l := range ls {
		row(doc, cols, false, "R", l.Date, l.Kind, l.Description, l.Account, l.Amount)
	}
}

// row prints one table row; the last cell is aligned lastAlign (amounts
// right), the others left. Text too long for its cell is cut to fit.
func row(doc *fpdf.Fpdf, cols []float64, bold bool, lastAlign string, cells ...string) {
	style := ""
	if bold {
		style = "B"
	}
	doc.SetFont("DejaVu", style, fontSizeBody)
	for i, c := range cells {
		align, ln := "L", 0
		if i == len(cells)-1 {
			ln = 1
		}
		if i > 0 && (i == len(cells)-1 || len(cells) == 3) {
			align = lastAlign
		}
		doc.CellFormat(cols[i], rowMm, fit(doc, c, cols[i]-2), "1", ln, align, bold, 0, "")
	}
}

// fit cuts s (on rune boundaries) until it fits widthMm, marking the cut.
func fit(doc *fpdf.Fpdf, s string, widthMm float64) string {
	if doc.GetStringWidth(s) <= widthMm {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && doc.GetStringWidth(string(r)+"…") > widthMm {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
