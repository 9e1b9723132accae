package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

const (
	// asOfProgram holds the as-of fixture; no other case uses it.
	asOfProgram = "bench-asof"
	// asOfAccount gets the fixture's entries: a hot platform account.
	asOfAccount = "platform:commission_expense"
	// asOfCounter balances them.
	asOfCounter = "platform:payout_clearing"
	// asOfEntriesPerTx is the fixture's entries on asOfAccount per
	// transaction (each has one balancing entry on asOfCounter).
	asOfEntriesPerTx = 1000
	// asOfReads is how many reads the figure is the median of.
	asOfReads = 11
)

// asOfCase reads, through the API, the balance as of now of an account
// with opts.AsOfEntries entries.
func (r *run) asOfCase(ctx context.Context) {
	n := r.opts.AsOfEntries
	f := Figure{ID: "asof_ms", Unit: "ms", Target: "< 5 ms",
		Name: fmt.Sprintf("as-of balance of an account with %d entries", n)}
	if err := r.createProgram(ctx, asOfProgram); err != nil {
		r.failAll(err, f)
		return
	}
	r.logf("as-of fixture: inserting %d entries with SQL", n)
	t0 := time.Now()
	if err := insertAsOfFixture(ctx, r.owner, n, r.now); err != nil {
		r.failAll(err, f)
		return
	}
	r.logf("as-of fixture inserted in %v", time.Since(t0).Round(time.Millisecond))
	caughtUp, err := awaitSnapshot(ctx, r.owner)
	if err != nil {
		r.failAll(err, f)
		return
	}
	r.logf("as-of snapshot folded the fixture %v after it committed", caughtUp.Round(time.Millisecond))
	want := decimal.NewFromInt(int64(n))
	var took []time.Duration
	for range asOfReads {
		t := time.Now()
		resp, err := r.api.ledger.GetBalances(ctx, connect.NewRequest(&accruev1.GetBalancesRequest{
			Program: asOfProgram, Accounts: []string{asOfAccount}, AsOf: timestamppb.New(r.now),
		}))
		if err != nil {
			r.failAll(fmt.Errorf("GetBalances: %w", err), f)
			return
		}
		took = append(took, time.Since(t))
		if err := checkAsOf(resp.Msg, want); err != nil {
			r.failAll(err, f)
			return
		}
	}
	slices.Sort(took)
	f.Value = float64(took[len(took)/2]) / float64(time.Millisecond)
	f.Note = fmt.Sprintf("median of %d reads (min %.1f, max %.1f ms); entries inserted with SQL, read once accrued's snapshotter had folded them (%.1f s after the commit)", asOfReads,
		float64(took[0])/float64(time.Millisecond), float64(took[len(took)-1])/float64(time.Millisecond), caughtUp.Seconds())
	r.report.add(f)
	r.logf("as-of read: %.1f ms", f.Value)
}

// snapshotWaitMax bounds the wait for the snapshotter to fold the fixture.
const snapshotWaitMax = 5 * time.Minute

// awaitSnapshot waits, as the owner, until accrued's snapshotter (every
// second, internal/schedule) has moved the as-of cut past every entry, so
// the reads measure the steady state of a journal whose snapshot keeps
// up, not its catch-up after a million rows appeared at once. It returns
// how long that took.
func awaitSnapshot(ctx context.Context, ownerURL string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return 0, fmt.Errorf("as-of snapshot wait: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	start := time.Now()
	for {
		var folded bool
		err := conn.QueryRow(ctx, `SELECT (SELECT cut_id FROM snapshot_state) >= (SELECT coalesce(max(id), 0) FROM entries)`).Scan(&folded)
		if err != nil {
			return 0, fmt.Errorf("as-of snapshot wait: %w", err)
		}
		if folded {
			return time.Since(start), nil
		}
		if time.Since(start) > snapshotWaitMax {
			return 0, fmt.Errorf("as-of snapshot wait: the cut did not pass the fixture in %v", snapshotWaitMax)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkAsOf fails unless the answer is the fixture's balance.
func checkAsOf(resp *accruev1.GetBalancesResponse, want decimal.Decimal) error {
	if len(resp.Balances) != 1 {
		return fmt.Errorf("GetBalances answered %d balances, want 1", len(resp.Balances))
	}
	got, err := decimal.NewFromString(resp.Balances[0].Balance)
	if err != nil || !got.Equal(want) {
		return fmt.Errorf("as-of balance %q, want %s: the read is wrong", resp.Balances[0].Balance, want)
	}
	return nil
}

// insertAsOfFixture writes, as the owner and set-based, n/asOfEntriesPerTx
// transactions of the as-of program, each debiting asOfAccount 1.00 in up
// to asOfEntriesPerTx entries and crediting asOfCounter once, dated over
// the 30 days before now, and adds them to the stored balances. The rows
// have the journal's shape but not the ledger's hashes: the program is
// scratch, and its journal would not verify.
func insertAsOfFixture(ctx context.Context, ownerURL string, n int, now time.Time) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("as-of fixture: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	args := pgx.NamedArgs{
		"program": asOfProgram, "target": asOfAccount, "counter": asOfCounter, "n": n,
		"per": asOfEntriesPerTx, "txs": (n + asOfEntriesPerTx - 1) / asOfEntriesPerTx, "now": now.Add(-time.Minute),
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var target, counter int64
		err := tx.QueryRow(ctx, `SELECT (SELECT id FROM accounts WHERE program_id = @program AND code = @target),
			(SELECT id FROM accounts WHERE program_id = @program AND code = @counter)`, args).Scan(&target, &counter)
		if err != nil {
			return fmt.Errorf("as-of fixture, accounts: %w", err)
		}
		args["target_id"], args["counter_id"] = target, counter
		steps := []struct{ what, sql string }{
			{"journal rows", `WITH t AS (
				INSERT INTO transactions (program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, hash)
				SELECT @program, 'bench.fixture', 'bench:asof:' || g, '\x00', at, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM'),
					'{}', jsonb_build_object('g', g), sha256(convert_to('bench:asof:' || g, 'UTF8'))
				FROM generate_series(1, @txs::int) g,
					LATERAL (SELECT @now::timestamptz - ((@txs::int - g) * interval '30 days' / @txs::int) AS at) d
				RETURNING id, at, period, (metadata->>'g')::int AS g),
			c AS (SELECT t.*, CASE WHEN t.g = @txs::int THEN @n::int - (@txs::int - 1) * @per::int ELSE @per::int END AS cnt FROM t)
			INSERT INTO entries (transaction_id, account_id, amount, at, period)
			SELECT c.id, @target_id::bigint, 1.00, c.at, c.period FROM c, generate_series(1, c.cnt) k
			UNION ALL
			SELECT c.id, @counter_id::bigint, -c.cnt, c.at, c.period FROM c`},
			{"balances", `INSERT INTO balances (account_id, shard, balance, entries)
				VALUES (@target_id::bigint, 0, @n::int, @n::int), (@counter_id::bigint, 0, -@n::int, @txs::int)
				ON CONFLICT (account_id, shard) DO UPDATE
				SET balance = balances.balance + excluded.balance, entries = balances.entries + excluded.entries`},
			{"statistics", `ANALYZE transactions, entries`},
		}
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.sql, args); err != nil {
				return fmt.Errorf("as-of fixture, %s: %w", s.what, err)
			}
		}
		return nil
	})
}
