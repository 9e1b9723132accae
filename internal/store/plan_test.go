package store_test

import (
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/store"
)

// The batch writes find their rows by the primary key even in the generic
// plans of tables never analyzed: a join on unnest let the planner read
// every command of the program and hash them.
func TestBatchWritesProbeTheirKeys(t *testing.T) {
	db := open(t)
	for _, c := range []struct{ name, sql, args, key string }{
		{"responses", store.SetCommandResponsesSQL, `'shop', ARRAY['k1','k2'], ARRAY['\x01'::bytea,'\x02'::bytea]`, "idempotency_key = ANY"},
	} {
		plan := pgtest.GenericPlan(t, db.Pool, c.sql, c.args)
		if !strings.Contains(plan, c.key) || strings.Contains(plan, "Hash") {
			t.Errorf("%s: the keys are not index conditions of a probe:\n%s", c.name, plan)
		}
	}
}
