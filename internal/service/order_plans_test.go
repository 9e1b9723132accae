package service

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/migrations"
)

// planLog collects the plans auto_explain sends as notices.
type planLog struct {
	mu    sync.Mutex
	plans []string
}

func (l *planLog) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	if !strings.Contains(n.Message, "Query Text:") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.plans = append(l.plans, n.Message)
}

// take returns the plans collected since the last take.
func (l *planLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.plans
	l.plans = nil
	return p
}

// explainedService is groupService whose pool's connections send the plan
// of every statement they run to log (auto_explain, set for the
// application role in the test's database only), and the database's
// owner URL.
func explainedService(t *testing.T, log *planLog) (*Service, string) {
	t.Helper()
	ctx := context.Background()
	owner := pgtest.DatabaseURL(t)
	must(t, database.Migrate(ctx, owner))
	u, err := url.Parse(owner)
	must(t, err)
	conn, err := pgx.Connect(ctx, owner)
	must(t, err)
	defer conn.Close(ctx)
	db := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	role := pgx.Identifier{migrations.AppRole}.Sanitize()
	for _, set := range []string{"session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
		"auto_explain.log_level = notice", "auto_explain.log_nested_statements = on"} {
		_, err := conn.Exec(ctx, "ALTER ROLE "+role+" IN DATABASE "+db+" SET "+set)
		must(t, err)
	}
	return groupServiceWith(t, database.Options{MigrateURL: owner, Notice: log.notice}), owner
}

// fullRead names the line of plan that reads more than the rows the
// statement is about, whatever the program's size: a sequential scan of
// a table, or an index read by the program alone, unless in the index's
// order under a Limit (the program's first row) ("" when none).
func fullRead(plan string) string {
	var nodes []string // the plan's nodes so far
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "Seq Scan on"):
			return line
		case line == "Recheck Cond: (program_id = $1)":
			return line
		case line == "Index Cond: (program_id = $1)":
			if n := len(nodes); n < 2 || !strings.HasPrefix(nodes[n-2], "->  Limit") {
				return line
			}
		case strings.Contains(line, "(cost="):
			nodes = append(nodes, line)
		}
	}
	return ""
}

// Every statement of a PayOrder batch, by code and by click, runs on its
// generic plan (ledger.GenericPlansSQL), and those plans probe by key
// even when the statistics say the program is tiny: a generic plan is
// kept for the connection's life.
func TestPayOrderBatchGenericPlans(t *testing.T) {
	ctx := context.Background()
	log := &planLog{}
	s, owner := explainedService(t, log)
	_, err := s.RecordClicks(ctx, groupProgram, []BatchClick{batchClickOf("k1", "child", "visitor-1")}, encodeClickID)
	must(t, err)
	conn, err := pgx.Connect(ctx, owner) // the tables' owner may analyze them
	must(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE")
	must(t, err)
	byClick := orderOf("o3", "", "40.00")
	byClick.in.CodeKey, byClick.in.Visitor = "", "visitor-1"
	calls := []orderCall{orderOf("o1", "", "25.00"), orderOf("o2", "", "30.00"), byClick}
	log.take()
	for i, o := range s.payOrderGroup(ctx, groupProgram, calls) {
		if o.Err != nil {
			t.Fatalf("order %d: %v", i, o.Err)
		}
	}
	plans := log.take()
	if len(plans) < 10 {
		t.Fatalf("%d plans explained, want the batch's statements", len(plans))
	}
	for _, p := range plans {
		if strings.Contains(p, "Query Text: SELECT 1 FROM ONLY") {
			continue // a foreign key's check, planned by PostgreSQL itself
		}
		if i := strings.Index(p, "(cost="); i >= 0 && strings.Contains(p[i:], "'"+groupProgram+"'") {
			t.Errorf("a custom plan (the program's id in place of $1):\n%s", p)
		}
		if bad := fullRead(p); bad != "" {
			t.Errorf("%s in the plan:\n%s", bad, p)
		}
	}
	verifyJournal(t, s)
}
