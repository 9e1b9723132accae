package ledger

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ContentHash exposes contentHash to the tamper tests, which play an
// attacker who recomputes hashes after a rewrite.
func ContentHash(t Transaction, scale int32) []byte { return contentHash(t, scale) }

// SetSnapshotLimits sets the batch size and the enrollment threshold of
// Snapshot for a test and returns the function that restores them.
func SetSnapshotLimits(batch, minEntries int) (restore func()) {
	oldBatch, oldMin := snapshotBatchMax, snapshotEntriesMin
	snapshotBatchMax, snapshotEntriesMin = batch, minEntries
	return func() { snapshotBatchMax, snapshotEntriesMin = oldBatch, oldMin }
}

// ExplainAsOf returns EXPLAIN (ANALYZE, BUFFERS) of the snapshot read of
// one enrolled account as of asOf, for the benchmark's log.
func ExplainAsOf(ctx context.Context, q Querier, account int64, asOf time.Time) (string, error) {
	var view snapView
	if err := q.QueryRow(ctx, `SELECT `+snapViewSQL).Scan(&view.cut, &view.lo, &view.hi); err != nil {
		return "", err
	}
	args := append([]any{[]int64{account}}, snapArgs(asOf.UTC().Truncate(time.Microsecond), view)...)
	rows, err := q.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+snapSQL, args...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// ProgramAccountsSQL is loadProgramAccounts' statement, for plan tests.
const ProgramAccountsSQL = programAccountsSQL

// AccountBalancesSQL is AccountBalances' statement, for plan tests.
const AccountBalancesSQL = accountBalancesSQL

// UnsealedTransactionsSQL is Seal's read of a program's transactions, for
// plan tests; ProgramsToSealSQL is ProgramsToSeal's.
const (
	UnsealedTransactionsSQL = unsealedTransactionsSQL
	ProgramsToSealSQL       = programsToSealSQL
)
