package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// ImportState is a program's history import (program_imports): whether it
// is importing, and the latest event time and count applied since it began.
type ImportState struct {
	Importing bool
	LastAt    *time.Time
	Events    int64
}

// BeginImport puts program in importing state at `at`, a fresh import (no
// events, no last time), unless it is importing already; begun reports
// whether it was not.
func BeginImport(ctx context.Context, q ledger.Querier, program string, at time.Time) (begun bool, err error) {
	tag, err := q.Exec(ctx, `INSERT INTO program_imports (program_id, importing, began_at) VALUES ($1, true, $2)
		ON CONFLICT (program_id) DO UPDATE SET importing = true, began_at = excluded.began_at,
			finished_at = NULL, last_at = NULL, events = 0
		WHERE NOT program_imports.importing`, program, at)
	if err != nil {
		return false, fmt.Errorf("store: beginning the import of %s: %w", program, err)
	}
	return tag.RowsAffected() == 1, nil
}

// FinishImport ends program's import at `at`; finished is false when it
// was not importing.
func FinishImport(ctx context.Context, q ledger.Querier, program string, at time.Time) (finished bool, err error) {
	tag, err := q.Exec(ctx, `UPDATE program_imports SET importing = false, finished_at = $2
		WHERE program_id = $1 AND importing`, program, at)
	if err != nil {
		return false, fmt.Errorf("store: finishing the import of %s: %w", program, err)
	}
	return tag.RowsAffected() == 1, nil
}

// LoadImport reads program's import state, locked FOR UPDATE when lock
// (an import call holds it, so the calls of one program run one at a
// time); a program never imported into is not importing.
func LoadImport(ctx context.Context, q ledger.Querier, program string, lock Lock) (ImportState, error) {
	var st ImportState
	err := q.QueryRow(ctx, `SELECT importing, last_at, events FROM program_imports WHERE program_id = $1`+lock.clause(),
		program).Scan(&st.Importing, &st.LastAt, &st.Events)
	if errors.Is(err, pgx.ErrNoRows) {
		return ImportState{}, nil
	}
	if err != nil {
		return ImportState{}, fmt.Errorf("store: reading the import state of %s: %w", program, err)
	}
	return st, nil
}

// SaveImportProgress records that n more events were applied to program's
// import, the latest at lastAt.
func SaveImportProgress(ctx context.Context, q ledger.Querier, program string, lastAt time.Time, n int) error {
	_, err := q.Exec(ctx, `UPDATE program_imports SET events = events + $3, last_at = GREATEST(last_at, $2)
		WHERE program_id = $1`, program, lastAt, n)
	if err != nil {
		return fmt.Errorf("store: saving the import progress of %s: %w", program, err)
	}
	return nil
}
