package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
)

// LockProgramExclusive takes the program row FOR UPDATE: it waits for
// in-flight order events (which hold it FOR SHARE, LockProgram) and keeps
// new ones out until commit. Used by rare structural changes: rules
// versions, re-links. Fault NotFound when there is no such program.
func LockProgramExclusive(ctx context.Context, tx pgx.Tx, id string) error {
	var got string
	err := tx.QueryRow(ctx, `SELECT id FROM programs WHERE id = $1 FOR UPDATE`, id).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Missing("program", "no program %q", id)
	}
	if err != nil {
		return fmt.Errorf("ledger: locking program %s: %w", id, err)
	}
	return nil
}
