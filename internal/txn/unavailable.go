package txn

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

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

// Unavailable reports whether err says the database is down, restarting,
// read-only, full or out of connections, or the connection to it was lost:
// conditions of the database, not of the request, so the request may be
// retried as it is. (Retryable, by contrast, is a conflict between
// transactions, which Run retries itself.)
func Unavailable(err error) bool {
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
