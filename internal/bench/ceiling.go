package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgembed"
)

// ceilingProgram is the scratch program the pgbench script posts to.
const ceilingProgram = "ceiling"

// ceilingScript is one posting per commit in the real journal tables: one
// transactions row and two entries rows in a single statement (one round
// trip, autocommit), against the migrated schema with all its indexes and
// the transactions → programs foreign key. Stored balances are not
// updated: the ceiling is the raw cost of writing a posting's rows.
// Accounts are drawn from 1,000 debit and 1,000 credit ids (entries have
// no foreign key to accounts, as in the schema).
const ceilingScript = `\set a random(1, 1000)
\set b random(1001, 2000)
WITH t AS (
  INSERT INTO transactions (program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, hash)
  VALUES ('ceiling', 'ceiling', CAST(gen_random_uuid() AS text), '\x00', now(), '2000-01', '{}', '{}', '\x00')
  RETURNING id, at, period)
INSERT INTO entries (transaction_id, account_id, amount, at, period)
SELECT t.id, x.account, x.amount, t.at, t.period
FROM t, (VALUES (CAST(:a AS bigint), CAST(1.00 AS numeric)), (CAST(:b AS bigint), CAST(-1.00 AS numeric))) AS x(account, amount);
`

// tpsLine is pgbench's throughput line.
var (
	tpsLine       = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	processedLine = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
)

// ceiling measures the raw posting ceiling and records it first: every
// ratio is to it.
func (r *run) ceiling(ctx context.Context, cl *cluster) {
	f := Figure{
		ID: "ceiling_postings_per_s", Unit: "postings/s", Target: "(the yardstick)",
		Name: fmt.Sprintf("raw ceiling: pgbench, 1 transaction row + 2 entries per commit, %d clients", r.opts.CeilingClients),
		Note: "real journal tables in a scratch database, no stored balances",
	}
	v, wal, err := r.pgbench(ctx, cl)
	if err != nil {
		f.Error = err.Error()
	}
	f.Value = v
	r.report.add(f)
	r.addWAL("ceiling", "raw ceiling (pgbench)", "posting", wal)
	r.logf("raw ceiling: %.0f postings/s", v)
	// The ceiling's rows are vacuumed now, not by autovacuum during the
	// first load case.
	if err := vacuum(ctx, cl.ceilingURL); err != nil {
		r.logf("ceiling database not vacuumed: %v", err)
	}
}

// ceilingValue is the measured ceiling, 0 when it failed.
func (r *run) ceilingValue() float64 {
	f, _ := r.report.Get("ceiling_postings_per_s")
	return f.Value
}

// ratio is v ÷ the ceiling, 0 without one.
func (r *run) ratio(v float64) float64 {
	if c := r.ceilingValue(); c > 0 {
		return v / c
	}
	return 0
}

// pgbench runs the ceiling's script and returns its rate and the WAL
// each of its postings wrote.
func (r *run) pgbench(ctx context.Context, cl *cluster) (float64, walUse, error) {
	bin, err := findPgbench()
	if err != nil {
		return 0, walUse{}, err
	}
	if err := prepareCeiling(ctx, cl.ceilingURL); err != nil {
		return 0, walUse{}, err
	}
	script := filepath.Join(os.TempDir(), fmt.Sprintf("accrue-bench-ceiling-%d.sql", os.Getpid()))
	if err := os.WriteFile(script, []byte(ceilingScript), 0o644); err != nil {
		return 0, walUse{}, fmt.Errorf("pgbench script: %w", err)
	}
	defer os.Remove(script)
	secs := max(1, int(r.opts.CeilingDuration.Seconds()))
	r.logf("pgbench: %d clients, %d s", r.opts.CeilingClients, secs)
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-j", "2",
		"-c", strconv.Itoa(r.opts.CeilingClients), "-T", strconv.Itoa(secs), "-f", script, cl.ceilingURL)
	from := readWAL(ctx, cl.ceilingURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, walUse{}, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	to := readWAL(ctx, cl.ceilingURL)
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, walUse{}, fmt.Errorf("pgbench: no tps line in its output:\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	var processed int64
	if p := processedLine.FindSubmatch(out); p != nil {
		processed, _ = strconv.ParseInt(string(p[1]), 10, 64)
	}
	return tps, walBetween(from, to, processed), err
}

// prepareCeiling migrates the scratch database with accrue's own
// migrations and creates the program the script posts to.
func prepareCeiling(ctx context.Context, url string) error {
	if err := database.Migrate(ctx, url); err != nil {
		return fmt.Errorf("ceiling database: %w", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("ceiling database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `INSERT INTO programs (id, currency, timezone, open_from, schedule_cursor, created_at)
		VALUES ($1, 'USD', 'UTC', now(), now(), now()) ON CONFLICT (id) DO NOTHING`, ceilingProgram)
	if err != nil {
		return fmt.Errorf("ceiling program: %w", err)
	}
	return nil
}

// findPgbench looks beside the server binaries pgembed uses, then on PATH.
func findPgbench() (string, error) {
	if dir, err := pgembed.FindBinaries(); err == nil {
		p := filepath.Join(dir, "pgbench")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("pgbench")
	if err != nil {
		return "", fmt.Errorf("pgbench not found beside the PostgreSQL server binaries nor on PATH " +
			"(Debian: apt-get install postgresql-15, or postgresql-contrib)")
	}
	return p, nil
}
