package server

import (
	"encoding/csv"
	"strings"
)

// csvFormulaStarts are the first characters with which a spreadsheet reads
// a cell as a formula (OWASP, "CSV Injection").
const csvFormulaStarts = "=+-@\t\r"

// csvText makes a free-text cell (an id, a description, a name) safe to
// open in a spreadsheet: one that starts like a formula gets a leading
// single quote, which spreadsheets show as text. Amounts the server formats
// itself ("-20.00") are not passed through it: they must stay numbers, so
// an export reconciles in a spreadsheet.
func csvText(cell string) string {
	if cell != "" && strings.ContainsRune(csvFormulaStarts, rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// csvRows writes CSV rows whose columns are free text except those in
// amounts (indexes of server-formatted decimals), which are written as
// they are.
type csvRows struct {
	w       *csv.Writer
	amounts map[int]bool
}

// write writes one row, escaping its free-text cells.
func (r csvRows) write(cells ...string) {
	out := make([]string, len(cells))
	for i, c := range cells {
		if r.amounts[i] {
			out[i] = c
		} else {
			out[i] = csvText(c)
		}
	}
	_ = r.w.Write(out) // a bytes.Buffer does not fail; Flush reports errors
}
