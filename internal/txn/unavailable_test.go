package txn

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnavailableStates: the SQLSTATEs of a database that cannot serve now
// are unavailable; others are not.
func TestUnavailableStates(t *testing.T) {
	for code, want := range map[string]bool{
		"08006": true, "53100": true, "53300": true, "57P01": true, "57P02": true, "57P03": true, "25006": true,
		"23505": false, "40001": false, "22P02": false, "42501": false,
	} {
		if got := Unavailable(fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})); got != want {
			t.Errorf("SQLSTATE %s: unavailable %v, want %v", code, got, want)
		}
	}
}

// TestUnavailableConnections: a lost connection is unavailable; an error of
// the request is not.
func TestUnavailableConnections(t *testing.T) {
	for err, want := range map[error]bool{
		fmt.Errorf("reading: %w", io.ErrUnexpectedEOF): true,
		pgconn.ErrConnClosed:                           true,
		errors.New("no partner"):                       false,
	} {
		if got := Unavailable(err); got != want {
			t.Errorf("%v: unavailable %v, want %v", err, got, want)
		}
	}
}
