package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/ledger"
)

// The accounts a batch posts to are found by one probe of (program_id,
// code) each, even in the generic plan of tables never analyzed; = ANY
// let the planner read every account of the program through the
// (program_id, id) index and filter them.
func TestAccountsAreProbedByCode(t *testing.T) {
	db, _ := openDB(t)
	// A few accounts, analyzed: the statistics of a young program.
	specs := []accountSpec{{"platform:hot", ledger.Debit, 16}}
	for i := range 20 {
		specs = append(specs, accountSpec{fmt.Sprintf("partner:p%d:accrued", i), ledger.Credit, 1})
	}
	setupProgram(t, db, specs...)
	if _, err := db.Pool.Exec(context.Background(), "ANALYZE accounts"); err != nil {
		t.Fatal(err)
	}
	plan := pgtest.GenericPlan(t, db.Pool, ledger.ProgramAccountsSQL, `'p1', ARRAY['platform:hot', 'partner:a']`)
	if !strings.Contains(plan, "accounts_program_id_code_key") || strings.Contains(plan, "accounts_program_id ") {
		t.Errorf("the accounts are not probed by code:\n%s", plan)
	}
}

// A batch's volumes are read by one probe of (program_id, code) each,
// even in the generic plan of a young program: code = ANY read every
// account of the program.
func TestAccountBalancesProbeByCode(t *testing.T) {
	db, _ := openDB(t)
	specs := []accountSpec{{"platform:hot", ledger.Debit, 16}}
	for i := range 20 {
		specs = append(specs, accountSpec{fmt.Sprintf("partner:p%d:sales", i), ledger.Credit, 1})
	}
	setupProgram(t, db, specs...)
	if _, err := db.Pool.Exec(context.Background(), "ANALYZE accounts"); err != nil {
		t.Fatal(err)
	}
	plan := pgtest.GenericPlan(t, db.Pool, ledger.AccountBalancesSQL, `'p1', ARRAY['partner:p1:sales', 'partner:p2:sales']`)
	if !strings.Contains(plan, "accounts_program_id_code_key") || strings.Contains(plan+"\n", "Cond: (program_id = $1)\n") {
		t.Errorf("the accounts are not probed by code:\n%s", plan)
	}
}
