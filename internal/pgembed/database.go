package pgembed

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// databaseNameLenMax is PostgreSQL's identifier limit (NAMEDATALEN-1);
// longer names would be truncated silently and then not found again.
const databaseNameLenMax = 63

// CreateDatabaseAt creates database name on the server that serverURL (a
// postgres:// URL of an existing database, such as "postgres") points at,
// unless it exists, and returns serverURL with its database replaced by
// name. Concurrent calls for the same name all succeed.
func CreateDatabaseAt(ctx context.Context, serverURL, name string) (string, error) {
	dbURL, err := WithDatabase(serverURL, name)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("pgembed: connect to create database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	err = conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists)
	if err != nil {
		return "", fmt.Errorf("pgembed: look up database %q: %w", name, err)
	}
	if exists {
		return dbURL, nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		// duplicate_database, or unique_violation when a concurrent
		// CREATE DATABASE of the same name won the race.
		return dbURL, nil
	}
	if err != nil {
		return "", fmt.Errorf("pgembed: create database %q: %w", name, err)
	}
	return dbURL, nil
}

// DropDatabaseAt drops database name, if it exists, on the server that
// serverURL points at, disconnecting its remaining sessions.
func DropDatabaseAt(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("pgembed: connect to drop database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)")
	if err != nil {
		return fmt.Errorf("pgembed: drop database %q: %w", name, err)
	}
	return nil
}

// WithDatabase returns the postgres:// URL serverURL with its database
// replaced by name, keeping host, user and query parameters.
func WithDatabase(serverURL, name string) (string, error) {
	if name == "" || len(name) > databaseNameLenMax {
		return "", fmt.Errorf("pgembed: database name %q must be 1 to %d bytes", name, databaseNameLenMax)
	}
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("pgembed: %q is not a postgres:// or postgresql:// URL", redact(serverURL))
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// redact hides a password in a connection string for error messages.
func redact(connString string) string {
	u, err := url.Parse(connString)
	if err != nil || u.User == nil {
		if strings.Contains(connString, "password") {
			return "(connection string with a password)"
		}
		return connString
	}
	return u.Redacted()
}
