// Package fault is accrue's error vocabulary: a code a caller can act on
// (the Connect code names, in Go) and a message that names the offending field.
// Domain packages return *fault.Error; the API layer maps it to Connect.
// It must not import Connect: the domain stays free of the transport.
package fault

import (
	"errors"
	"fmt"
)

// Code classifies an error the way Connect codes do.
type Code int

// Codes used by accrue, named after Connect's.
const (
	CodeInternal Code = iota
	CodeInvalidArgument
	CodeNotFound
	CodeAlreadyExists
	CodeFailedPrecondition
	// CodeAborted: the work is being done by someone else right now (a
	// period close claimed by another process); try again later.
	CodeAborted
)

// Error is a domain error with a code and, where one is at fault, a field path.
type Error struct {
	Code  Code
	Field string
	Msg   string
}

// Error renders "field: message", or the message alone without a field.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func newf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// InvalidArgument reports bad input in field.
func InvalidArgument(field, format string, args ...any) *Error {
	return newf(CodeInvalidArgument, field, format, args...)
}

// NotFound reports something that does not exist.
func NotFound(field, format string, args ...any) *Error {
	return newf(CodeNotFound, field, format, args...)
}

// AlreadyExists reports something that exists already, or an idempotency
// key reused with another payload.
func AlreadyExists(field, format string, args ...any) *Error {
	return newf(CodeAlreadyExists, field, format, args...)
}

// FailedPrecondition reports a request the current state does not allow.
func FailedPrecondition(field, format string, args ...any) *Error {
	return newf(CodeFailedPrecondition, field, format, args...)
}

// Aborted reports work another process is doing right now.
func Aborted(field, format string, args ...any) *Error {
	return newf(CodeAborted, field, format, args...)
}

// CodeOf returns err's code, CodeInternal for an error that is not a *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Prefixed is err with its field path under prefix (prefix + "." + field,
// or prefix alone for an error without a field), as when a request holds
// the request at fault: "events[3].pay_order" + "lines[0].amount". An
// error that is not a *Error, and nil, pass unchanged.
func Prefixed(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	field := prefix
	if e.Field != "" {
		field += "." + e.Field
	}
	return &Error{Code: e.Code, Field: field, Msg: e.Msg}
}
