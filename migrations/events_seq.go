package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// eventsSeqPartial is migration 00025, in Go because the two databases
// drop a column's UNIQUE constraint differently: PostgreSQL with ALTER
// TABLE … DROP CONSTRAINT, CockroachDB with DROP INDEX … CASCADE (its
// DROP CONSTRAINT takes only CHECK and foreign keys). The outbox's unique
// index on seq took an entry for the NULL of every event written, until
// the publisher stamped it and the event took a second entry; uniqueness
// ignores NULLs, so a partial index on the stamped events keeps the rule
// and saves an index insert an event, two a paid order.
var eventsSeqPartial = goose.NewGoMigration(25,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		drop := `ALTER TABLE events DROP CONSTRAINT events_seq_key`
		if crdb, err := isCockroach(ctx, tx); err != nil {
			return err
		} else if crdb {
			drop = `DROP INDEX events@events_seq_key CASCADE`
		}
		return execAll(ctx, tx, `CREATE UNIQUE INDEX events_seq ON events (seq) WHERE seq IS NOT NULL`, drop)
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return execAll(ctx, tx, `ALTER TABLE events ADD CONSTRAINT events_seq_key UNIQUE (seq)`, `DROP INDEX events_seq`)
	}},
)

// isCockroach reports whether tx is a CockroachDB transaction.
func isCockroach(ctx context.Context, tx *sql.Tx) (bool, error) {
	var version string
	if err := tx.QueryRowContext(ctx, `SELECT version()`).Scan(&version); err != nil {
		return false, fmt.Errorf("migrations: reading the server version: %w", err)
	}
	return strings.Contains(version, "CockroachDB"), nil
}

// execAll runs statements in tx, in order.
func execAll(ctx context.Context, tx *sql.Tx, statements ...string) error {
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("migrations: %s: %w", s, err)
		}
	}
	return nil
}
