package store_test

import (
	"context"
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

// The one-statement path of clicks runs on its generic plan: it probes the
// partners by code and by id and the commands by key, and joins nothing,
// whatever the statistics.
func TestKnownClicksGenericPlan(t *testing.T) {
	db := open(t)
	plan := pgtest.GenericPlan(t, db.Pool, store.InsertKnownClicksSQL, `'p', ARRAY[1,2]::bigint[], ARRAY['a','b'], ARRAY['a','b'],
		ARRAY['a','b'], ARRAY['k1','k2'], ARRAY['m','m'], ARRAY['\x01'::bytea,'\x02'::bytea], ARRAY['\x01'::bytea,'\x02'::bytea],
		ARRAY['v','v'], ARRAY[now(), now()], ARRAY['',''], ARRAY['',''], ARRAY['',''], ARRAY['',''], ARRAY['',''], now()`)
	for _, probe := range []string{"partners_code", "partners_pkey", "commands_pkey"} {
		if !strings.Contains(plan, "Index") || !strings.Contains(plan, probe) {
			t.Errorf("no probe of %s in the plan:\n%s", probe, plan)
		}
	}
	for _, bad := range []string{"Seq Scan on", "Hash Join", "Nested Loop", "Merge Join", "Cond: (program_id = $1)\n"} {
		if strings.Contains(plan+"\n", bad) {
			t.Errorf("%q in the plan (a read of more than a click's rows):\n%s", bad, plan)
		}
	}
}

// A batch's partners and keys are probed one key at a time, even in the
// generic plans of a young program: = ANY over the batch's keys read
// every partner of the program and compared each with every key.
func TestBatchReadsProbeTheirKeys(t *testing.T) {
	db := open(t)
	tree(t, db, 20)
	if _, err := db.Pool.Exec(context.Background(), "ANALYZE partners"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, sql, args string }{
		{"codes", store.PartnersByCodeSQL, `'p', ARRAY['cp01', 'cp02']`},
		{"partners", store.LoadPartnersSQL, `'p', ARRAY['p01', 'p02']`},
		{"keys", store.LoadCommandsSQL, `'p', ARRAY['k1', 'k2']`},
	} {
		plan := pgtest.GenericPlan(t, db.Pool, c.sql, c.args)
		if strings.Contains(plan, "Seq Scan on") || strings.Contains(plan+"\n", "Cond: (program_id = $1)\n") {
			t.Errorf("%s: the rows are read by the program, not probed by key:\n%s", c.name, plan)
		}
	}
}
