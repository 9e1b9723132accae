package rules

import "errors"

// CheckFacts returns a *FieldError when f breaks the preconditions of
// Accrue: more than LinesMax lines, lines that do not come from MergeLines
// (an empty or repeated product), or a line amount or the shipping that
// fails CheckAmount. A caller that builds facts itself checks them here
// first, so that bad input is an error, never a panic inside Accrue.
func (p *Program) CheckFacts(f AccrualFacts) error {
	if len(f.Lines) > LinesMax {
		return fieldErrorf("lines", "%d lines; the limit is %d", len(f.Lines), LinesMax)
	}
	errs := []error{}
	if err := p.CheckAmount("shipping", f.Shipping); err != nil {
		errs = append(errs, err)
	}
	seen := make(map[string]bool, len(f.Lines))
	for i, l := range f.Lines {
		path := indexPath("lines", i)
		if l.Product == "" || seen[l.Product] {
			errs = append(errs, fieldErrorf(joinPath(path, "product"), "%s is empty or repeated: lines must come from MergeLines", quote(l.Product)))
		}
		if err := p.CheckAmount(joinPath(path, "amount"), l.Amount); err != nil {
			errs = append(errs, err)
		}
		seen[l.Product] = true
	}
	return errors.Join(errs...)
}
