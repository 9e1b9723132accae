package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Figure is one measured number.
type Figure struct {
	// ID is a stable machine name ("orders_32_per_s").
	ID string `json:"id"`
	// Name is what the table shows.
	Name string `json:"name"`
	// Value is in Unit; zero when Skipped or Error is set.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Ratio is Value ÷ the raw ceiling where issue 9 compares with it
	// (or the ratio Name says for derived figures); 0 = not compared.
	Ratio float64 `json:"ratio,omitempty"`
	// Target is issue 9's target for the figure, as text.
	Target string `json:"target,omitempty"`
	// Note says how the figure was made or what else it compares with.
	Note string `json:"note,omitempty"`
	// Skipped says why the case did not run ("not implemented yet").
	Skipped string `json:"skipped,omitempty"`
	// Error is why the case failed.
	Error string `json:"error,omitempty"`
}

// Report is a run's figures.
type Report struct {
	Preset   string    `json:"preset"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  string    `json:"machine"`
	Figures  []Figure  `json:"figures"`
}

func newReport(opts Options) *Report {
	return &Report{Preset: opts.Preset, Started: time.Now().UTC(), Machine: machine()}
}

func (r *Report) add(f Figure) { r.Figures = append(r.Figures, f) }

// Get returns the figure with id, if any.
func (r *Report) Get(id string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.ID == id {
			return f, true
		}
	}
	return Figure{}, false
}

// failures joins the errors of the failed cases.
func (r *Report) failures() error {
	var errs []error
	for _, f := range r.Figures {
		if f.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", f.Name, f.Error))
		}
	}
	return errors.Join(errs...)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as an aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "accrue bench, preset %s, %s, %s (%s)\n", r.Preset, r.Machine,
		r.Started.Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tratio\ttarget\tnote")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.valueText(), f.ratioText(), f.Target, f.Note)
	}
	return tw.Flush()
}

// Markdown writes the report as a Markdown table (docs/performance.md).
func (r *Report) Markdown(w io.Writer) error {
	fmt.Fprintln(w, "| figure | value | ratio | target | note |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, f := range r.Figures {
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", f.Name, f.valueText(), f.ratioText(), f.Target, f.Note); err != nil {
			return err
		}
	}
	return nil
}

func (f Figure) valueText() string {
	switch {
	case f.Error != "":
		return "FAILED: " + f.Error
	case f.Skipped != "":
		return "skipped: " + f.Skipped
	}
	return formatNumber(f.Value) + " " + f.Unit
}

func (f Figure) ratioText() string {
	if f.Ratio == 0 || f.Error != "" || f.Skipped != "" {
		return ""
	}
	return strconv.FormatFloat(f.Ratio, 'f', 2, 64)
}

// formatNumber prints v with thousands separators, and decimals only
// where they matter (below 100).
func formatNumber(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
