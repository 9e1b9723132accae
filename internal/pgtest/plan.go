package pgtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/ledger"
)

// errRollBack ends GenericPlan's and ExplainAnalyze's transactions by
// rolling them back.
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

// Plan is a node of EXPLAIN (ANALYZE, FORMAT JSON), with what the tests
// read.
type Plan struct {
	NodeType       string `json:"Node Type"`
	Relation       string `json:"Relation Name"`
	RemovedFilter  int    `json:"Rows Removed by Filter"`
	RemovedRecheck int    `json:"Rows Removed by Index Recheck"`
	Plans          []Plan `json:"Plans"`
}

// Removed is how many rows the node and those under it read and dropped.
func (n Plan) Removed() int {
	total := n.RemovedFilter + n.RemovedRecheck
	for _, c := range n.Plans {
		total += c.Removed()
	}
	return total
}

// RemovedIn is how many rows of the table relation the node and those
// under it read and dropped.
func (n Plan) RemovedIn(relation string) int {
	total := 0
	if n.Relation == relation {
		total = n.RemovedFilter + n.RemovedRecheck
	}
	for _, c := range n.Plans {
		total += c.RemovedIn(relation)
	}
	return total
}

// SeqScan is whether the node or one under it scans a table whole.
func (n Plan) SeqScan() bool {
	if n.NodeType == "Seq Scan" {
		return true
	}
	for _, c := range n.Plans {
		if c.SeqScan() {
			return true
		}
	}
	return false
}

// ExplainAnalyze runs sql with args under EXPLAIN ANALYZE on pool, in a
// transaction it rolls back, and returns the plan's root.
func ExplainAnalyze(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) Plan {
	t.Helper()
	ctx := context.Background()
	var out []byte
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+sql, args...).Scan(&out); err != nil {
			return err
		}
		return errRollBack
	})
	if err != nil && !errors.Is(err, errRollBack) {
		t.Fatalf("explaining %s: %v", sql, err)
	}
	var plans []struct{ Plan Plan }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("reading the plan %s: %v", out, err)
	}
	return plans[0].Plan
}
