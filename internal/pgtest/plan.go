package pgtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/ledger"
)

// errRollBack ends GenericPlan's transaction by rolling it back.
var errRollBack = errors.New("pgtest: roll back")

// GenericPlan returns PostgreSQL's generic plan (the one a prepared
// statement caches after its first executions) of sql with the SQL
// literals args, under ledger.GenericPlansSQL as the batches run it, as
// EXPLAIN's text, read on a connection of pool. On
// tables never analyzed it is the plan a young database runs.
func GenericPlan(t testing.TB, pool *pgxpool.Pool, sql, args string) string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The settings the batch statements run under.
		if _, err := tx.Exec(ctx, ledger.GenericPlansSQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "PREPARE generic_plan_test AS "+sql); err != nil {
			return err
		}
		defer tx.Exec(ctx, "DEALLOCATE generic_plan_test") //nolint:errcheck // the rollback ends it anyway
		rows, err := tx.Query(ctx, "EXPLAIN EXECUTE generic_plan_test("+args+")")
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return errRollBack // an UPDATE explained is not run, but roll back to be sure
	})
	if err != nil && !errors.Is(err, errRollBack) {
		t.Fatalf("explaining %s: %v", sql, err)
	}
	return strings.Join(plan, "\n")
}
