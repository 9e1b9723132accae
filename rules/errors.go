package rules

import (
	"fmt"
	"strings"
)

// FieldError reports an invalid field of a rules document or of an order
// event. Path locates the field ("commission.rules[2].rate",
// "lines[1].amount"); it is empty when the whole input is at fault. Callers
// map it to an invalid_argument error.
type FieldError struct {
	Path   string
	Reason string
}

// Error returns "path: reason", or the reason alone when Path is empty.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// fieldErrorf builds a *FieldError with a formatted reason.
func fieldErrorf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// joinPath appends a field name to a path.
func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// indexPath appends a list index to a path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// assert panics when an invariant does not hold: a broken invariant is a
// programming error in this package or in its caller, never bad input.
func assert(ok bool, format string, args ...any) {
	if !ok {
		panic("rules: invariant broken: " + fmt.Sprintf(format, args...))
	}
}

// quote renders a user-supplied value for an error reason, cut to a length
// that keeps error messages readable.
func quote(s string) string {
	const quoteLenMax = 64
	if len(s) > quoteLenMax {
		s = s[:quoteLenMax] + "…"
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "?"))
}
