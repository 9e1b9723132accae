package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// Benchmark shape: cold accounts to spread postings over, and how long one
// benchmark run may take before it is declared stuck.
const (
	benchAccounts = 1000
	benchTimeout  = 10 * time.Minute
	benchHot      = "platform:hot"
)

// benchCase is a posting pattern: hotShards is 0 when postings only touch
// random accounts, else every posting also debits one hot account with that
// many balance shards.
type benchCase struct {
	name      string
	hotShards int
}

// BenchmarkPost measures postings per second (two legs each, as in
// shared/notes/postgres-posting-limits.md) for random accounts, a hot
// account with 16 shards and with 1, one posting or 100 postings per
// database transaction, with 1, 8 and 32 concurrent writers. Each run gets
// a fresh database, set up outside the timer.
func BenchmarkPost(b *testing.B) {
	cases := []benchCase{{"random", 0}, {"hot16", 16}, {"hot1", 1}}
	for _, c := range cases {
		for _, batch := range []int{1, 100} {
			for _, writers := range []int{1, 8, 32} {
				b.Run(fmt.Sprintf("%s/batch=%d/writers=%d", c.name, batch, writers), func(b *testing.B) {
					benchPost(b, c, batch, writers)
				})
			}
		}
	}
}

func benchPost(b *testing.B, c benchCase, batch, writers int) {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	db, _ := openDB(b)
	specs := make([]accountSpec, 0, benchAccounts+1)
	for i := range benchAccounts {
		specs = append(specs, accountSpec{fmt.Sprintf("partner:%d:accrued", i), ledger.Credit, 1})
	}
	if c.hotShards > 0 {
		specs = append(specs, accountSpec{benchHot, ledger.Debit, c.hotShards})
	}
	setupProgram(b, db, specs...)

	var (
		next     atomic.Int64 // Next database transaction to run.
		txCount  = (int64(b.N) + int64(batch) - 1) / int64(batch)
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(b.N)))
			for {
				i := next.Add(1) - 1
				if i >= txCount {
					return
				}
				n := min(int64(batch), int64(b.N)-i*int64(batch))
				if err := benchTransaction(ctx, db, r, c, i, int(n)); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "postings/s")
	if txs, entries := countRows(b, db.Pool); txs != int64(b.N) || entries != 2*int64(b.N) {
		b.Fatalf("journal has %d transactions and %d entries after %d postings", txs, entries, b.N)
	}
}

// benchTransaction posts n two-leg postings in database transaction i.
func benchTransaction(ctx context.Context, db *txn.DB, r *rand.Rand, c benchCase, i int64, n int) error {
	ps := make([]ledger.Posting, n)
	for j := range ps {
		credit := r.IntN(benchAccounts)
		debit := benchHot
		if c.hotShards == 0 {
			// Another random account, never the credited one.
			debit = fmt.Sprintf("partner:%d:accrued", (credit+1+r.IntN(benchAccounts-1))%benchAccounts)
		}
		ps[j] = transfer(fmt.Sprintf("t%d-%d", i, j), debit, fmt.Sprintf("partner:%d:accrued", credit),
			fmt.Sprintf("%d.%02d", 1+r.IntN(500), r.IntN(100)), t0.Add(time.Duration(i)*time.Second))
	}
	return db.Run(ctx, func(tx pgx.Tx) error {
		_, _, err := ledger.PostBatch(ctx, tx, ps)
		return err
	})
}

// As-of benchmark shape: entries on the one big account, how far apart in
// `at` they are, and how many more are posted after the snapshot caught up.
const (
	asOfEntries = 1_000_000
	asOfSpacing = 2500 * time.Millisecond // 1M entries over ~29 days.
	asOfTail    = 2000
)

// BenchmarkAsOfBalance reads the balance of an account with 1M entries (one
// in 50 of them late, up to ten days before their neighbours) as of random
// instants: summing its entries (sum, the path before snapshots), from its
// snapshot (snapshot), and from the snapshot plus asOfTail entries posted
// after it (snapshot+tail).
func BenchmarkAsOfBalance(b *testing.B) {
	ctx := context.Background()
	db, url := openDB(b)
	setupProgram(b, db, accountSpec{benchHot, ledger.Debit, 1}, accountSpec{"partner:0:accrued", ledger.Credit, 1})
	hot := fillAsOfAccount(b, url)
	run := func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		b.ResetTimer()
		for range b.N {
			asOf := t0.Add(time.Duration(r.Int64N(int64(asOfEntries * asOfSpacing))))
			if _, err := ledger.Balances(ctx, db.Pool, testProgram, []string{benchHot}, asOf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("sum", run)
	start := time.Now()
	snapshot(b, db)
	b.Logf("first snapshot of %d entries: %s", asOfEntries, time.Since(start))
	ownerExec(b, url, `ANALYZE snapshot_buckets, snapshot_holes, snapshot_accounts, snapshot_state`)
	logAsOfPlan(b, db, hot)
	b.Run("snapshot", run)
	for i := range asOfTail / 2 {
		at := t0.Add(time.Duration(i) * time.Hour % (asOfEntries * asOfSpacing))
		mustPost(b, db, transfer(fmt.Sprintf("tail%d", i), benchHot, "partner:0:accrued", "1.00", at))
	}
	logAsOfPlan(b, db, hot)
	b.Run("snapshot+tail", run)
}

// logAsOfPlan logs EXPLAIN (ANALYZE, BUFFERS) of the snapshot read of
// account as of the middle of the benchmark's span.
func logAsOfPlan(b *testing.B, db *txn.DB, account int64) {
	b.Helper()
	plan, err := ledger.ExplainAsOf(context.Background(), db.Pool, account, t0.Add(asOfEntries*asOfSpacing/2+333*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Log(plan)
}

// ownerExec runs sql as the schema owner.
func ownerExec(b testing.TB, url, sql string) {
	b.Helper()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

// fillAsOfAccount writes asOfEntries entries on benchHot with set-based
// inserts as the schema owner: one transaction row per 1,000 entries,
// and the stored balance to match, and returns the account's id.
func fillAsOfAccount(b testing.TB, url string) int64 {
	b.Helper()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(ctx)
	hot := int64(0)
	if err := owner.QueryRow(ctx, `SELECT id FROM accounts WHERE code = $1`, benchHot).Scan(&hot); err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO transactions (id, program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, hash)
			SELECT g, $1, 'bench', 'bench-' || g, '\x00', $2, '2026-03', '{}', '{}', '\x00'
			FROM generate_series(1, $3::bigint / 1000) g`, []any{testProgram, t0, asOfEntries}},
		{`SELECT setval(pg_get_serial_sequence('transactions', 'id'), $1::bigint / 1000)`, []any{asOfEntries}},
		{`INSERT INTO entries (transaction_id, account_id, amount, at, period)
			SELECT 1 + (g - 1) / 1000, $1, (g % 1000 + 1) / 100.0,
				$2::timestamptz + (g * $3::bigint) * interval '1 microsecond'
					- CASE WHEN g % 50 = 0 THEN (g % 10) * interval '1 day' ELSE interval '0' END,
				'2026-03'
			FROM generate_series(1, $4::bigint) g`, []any{hot, t0, asOfSpacing.Microseconds(), asOfEntries}},
		{`INSERT INTO balances (account_id, shard, balance, entries)
			SELECT account_id, 0, sum(amount), count(*) FROM entries GROUP BY account_id`, nil},
		{`VACUUM ANALYZE entries`, nil},
	} {
		if _, err := owner.Exec(ctx, st.sql, st.args...); err != nil {
			b.Fatalf("filling the as-of account: %v", err)
		}
	}
	return hot
}
