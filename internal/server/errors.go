package server

import (
	"errors"
	"io"
	"net"
	"syscall"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
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

// unavailableStates are the SQLSTATEs of a database that cannot serve now
// but may soon: by class (two characters) or by exact code.
var unavailableStates = map[string]bool{
	"08":    true, // connection exception
	"53":    true, // insufficient resources: disk full (53100), out of memory, too many connections (53300)
	"57P01": true, // admin shutdown
	"57P02": true, // crash shutdown
	"57P03": true, // cannot connect now (starting up, recovering)
	"25006": true, // read-only transaction: a read-only database or a standby
}

// databaseUnavailable reports whether err says the database is down,
// restarting, read-only, full or out of connections, or the connection to
// it was lost: conditions of the database, not of the request.
func databaseUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return len(pgErr.Code) == 5 && (unavailableStates[pgErr.Code] || unavailableStates[pgErr.Code[:2]])
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
