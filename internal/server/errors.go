package server

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/accrue/accrue/internal/fault"
)

// faultError is the Connect error of a domain fault. An invalid_argument
// carries a google.rpc.BadRequest detail with the field's path and the
// reason, so that a client never parses the message.
func faultError(code connect.Code, f *fault.Error) *connect.Error {
	ce := connect.NewError(code, f)
	if code != connect.CodeInvalidArgument {
		return ce
	}
	detail, err := connect.NewErrorDetail(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: f.Field, Description: f.Msg}},
	})
	if err == nil {
		ce.AddDetail(detail)
	}
	return ce
}

// errUnavailable is what a client hears when the database cannot serve:
// the request may or may not have committed, so it is to be retried with
// the same idempotency key, which answers the first outcome.
var errUnavailable = errors.New("the database is unavailable; retry the request with the same idempotency key")
