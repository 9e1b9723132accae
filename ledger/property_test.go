package ledger_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

var seedFlag = flag.Uint64("ledger.seed", 20260301, "seed of the ledger property test")

// Property test sizes: postings in total, checks in between, accounts.
const (
	propPostings    = 3000
	propCheckEvery  = 500
	propAccounts    = 20
	propAsOfSamples = 6
	propLegsMax     = 6
	propAmountMax   = 1_000_000 // in cents
	propBatchMax    = 8
	// As-of snapshots: how often (1 in propSnapshotOdds batches) Snapshot
	// runs, the entries one call folds, and the entries that enroll an
	// account (reached midway, so both read paths are compared).
	propSnapshotOdds  = 20
	propSnapshotBatch = 400
	propSnapshotMin   = 300
)

// model is the in-memory journal the database must agree with: every
// posted entry (signed, debits positive) and its account's normal side.
type model struct {
	normal  map[string]ledger.Side
	entries []modelEntry
	sum     map[string]decimal.Decimal // Signed sum per account.
	count   map[string]int
}

type modelEntry struct {
	account string
	at      time.Time
	amount  decimal.Decimal
}

func newModel() *model {
	return &model{normal: map[string]ledger.Side{}, sum: map[string]decimal.Decimal{}, count: map[string]int{}}
}

// apply records a posting the database accepted.
func (m *model) apply(p ledger.Posting) {
	for _, l := range p.Legs {
		a := l.Amount.Mul(decimal.NewFromInt(int64(l.Side)))
		m.entries = append(m.entries, modelEntry{l.Account, p.At, a})
		m.sum[l.Account] = m.sum[l.Account].Add(a)
		m.count[l.Account]++
	}
}

// balanceAsOf replays the entries at or before asOf for account, on its
// normal side; a zero asOf means every entry.
func (m *model) balanceAsOf(account string, asOf time.Time) decimal.Decimal {
	sum := decimal.Zero
	for _, e := range m.entries {
		if e.account == account && (asOf.IsZero() || !e.at.After(asOf)) {
			sum = sum.Add(e.amount)
		}
	}
	return signed(sum, m.normal[account])
}

// randomPosting builds a balanced posting of 2 to propLegsMax legs with
// amounts of two decimals over random accounts (an account may appear in
// two legs).
func randomPosting(r *rand.Rand, codes []string, key string, at time.Time) ledger.Posting {
	n := 2 + r.IntN(propLegsMax-1)
	p := ledger.Posting{Program: testProgram, Key: key, Kind: "prop", At: at, Recorded: recorded}
	if r.IntN(4) == 0 {
		p.Refs = map[string]string{"order": fmt.Sprintf("o%d", r.IntN(50))}
		p.Metadata = map[string]string{"note": fmt.Sprintf("n%d <&>", r.IntN(1000))}
	}
	for {
		p.Legs = p.Legs[:0]
		total := int64(0) // Signed cents.
		for range n - 1 {
			cents := 1 + r.Int64N(propAmountMax)
			if r.IntN(2) == 0 {
				cents = -cents
			}
			total += cents
			p.Legs = append(p.Legs, leg(codes[r.IntN(len(codes))], cents))
		}
		if total != 0 {
			p.Legs = append(p.Legs, leg(codes[r.IntN(len(codes))], -total))
			r.Shuffle(len(p.Legs), func(i, j int) { p.Legs[i], p.Legs[j] = p.Legs[j], p.Legs[i] })
			return p
		}
	}
}

// leg is a leg of |cents| on account, a debit when cents > 0.
func leg(account string, cents int64) ledger.Leg {
	side := ledger.Debit
	if cents < 0 {
		side, cents = ledger.Credit, -cents
	}
	return ledger.Leg{Account: account, Side: side, Amount: decimal.New(cents, -2)}
}

// TestPostingsMatchModel posts thousands of random balanced postings, in
// single transactions and in batches, at mostly increasing and sometimes
// out-of-order times, and checks every so often that the database agrees
// with an in-memory model: stored balances, sums of listed entries, as-of
// balances, a zero trial balance and a clean Verify. Snapshot runs at
// random points, one small batch at a time, so as-of reads meet accounts
// not enrolled yet, folded late events and an unfolded tail.
func TestPostingsMatchModel(t *testing.T) {
	if testing.Short() {
		t.Skip("posts thousands of transactions")
	}
	t.Cleanup(ledger.SetSnapshotLimits(propSnapshotBatch, propSnapshotMin))
	seed := *seedFlag
	t.Logf("seed %d (rerun with -ledger.seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx := context.Background()
	db, _ := openDB(t)

	m := newModel()
	var specs []accountSpec
	var codes []string
	for i := range propAccounts {
		side := ledger.Debit
		if r.IntN(2) == 0 {
			side = ledger.Credit
		}
		code := fmt.Sprintf("acct:%02d", i)
		specs = append(specs, accountSpec{code, side, 1 + r.IntN(4)})
		codes = append(codes, code)
		m.normal[code] = side
	}
	setupProgram(t, db, specs...)

	now := t0
	var times []time.Time // Every posting's at, for as-of samples.
	posted := 0
	for posted < propPostings {
		size := 1
		if r.IntN(5) == 0 {
			size = 1 + r.IntN(propBatchMax)
		}
		size = min(size, propPostings-posted)
		batch := make([]ledger.Posting, size)
		for i := range batch {
			now = now.Add(time.Duration(1+r.IntN(3600)) * time.Second)
			at := now
			if r.IntN(10) == 0 && len(times) > 0 {
				// Out of order: back to a random earlier instant, at
				// microsecond resolution.
				at = times[r.IntN(len(times))].Add(-time.Duration(r.IntN(1e6)) * time.Microsecond)
			}
			batch[i] = randomPosting(r, codes, fmt.Sprintf("k%d", posted+i), at)
			times = append(times, at)
		}
		postBatchChecked(t, ctx, db, batch)
		for _, p := range batch {
			m.apply(p)
		}
		if r.IntN(propSnapshotOdds) == 0 {
			snapshotOnce(t, db)
		}
		posted += size
		if posted%propCheckEvery < size || posted == propPostings {
			checkAgainstModel(t, db, m, r, times, posted)
		}
	}
	// The as-of reads above must have met snapshots.
	var enrolled, buckets int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM snapshot_accounts), (SELECT count(*) FROM snapshot_buckets)`).
		Scan(&enrolled, &buckets); err != nil {
		t.Fatal(err)
	}
	if enrolled == 0 || buckets == 0 {
		t.Fatalf("%d accounts enrolled in snapshots with %d buckets, want some", enrolled, buckets)
	}
}

// snapshotOnce runs one ledger.Snapshot call.
func snapshotOnce(tb testing.TB, db *txn.DB) {
	tb.Helper()
	ctx := context.Background()
	if err := db.Run(ctx, func(tx pgx.Tx) error {
		_, err := ledger.Snapshot(ctx, tx)
		return err
	}); err != nil {
		tb.Fatalf("Snapshot: %v", err)
	}
}

// postBatchChecked posts batch in one transaction and checks what PostBatch
// returns: fresh transactions whose entries mirror the legs.
func postBatchChecked(t *testing.T, ctx context.Context, db *txn.DB, batch []ledger.Posting) {
	t.Helper()
	var (
		txs      []ledger.Transaction
		replayed []bool
	)
	err := db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		txs, replayed, err = ledger.PostBatch(ctx, tx, batch)
		return err
	})
	if err != nil {
		t.Fatalf("posting batch starting at %s: %v", batch[0].Key, err)
	}
	if len(txs) != len(batch) || slices.Contains(replayed, true) {
		t.Fatalf("batch of %d: got %d transactions, replayed %v", len(batch), len(txs), replayed)
	}
	for i, tr := range txs {
		p := batch[i]
		if tr.ID == 0 || tr.Key != p.Key || !tr.At.Equal(p.At) || len(tr.Entries) != len(p.Legs) {
			t.Fatalf("posting %s came back as %+v", p.Key, tr)
		}
		for j, e := range tr.Entries {
			want := p.Legs[j].Amount.Mul(decimal.NewFromInt(int64(p.Legs[j].Side)))
			if e.ID == 0 || e.TransactionID != tr.ID || e.Account != p.Legs[j].Account || !e.Amount.Equal(want) {
				t.Fatalf("posting %s entry %d = %+v, want %s %s", p.Key, j, e, p.Legs[j].Account, want)
			}
		}
	}
}

// checkAgainstModel compares everything the ledger reports with m.
func checkAgainstModel(t *testing.T, db *txn.DB, m *model, r *rand.Rand, times []time.Time, posted int) {
	t.Helper()
	ctx := context.Background()
	tb, err := ledger.GetTrialBalance(ctx, db.Pool, testProgram, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Total.IsZero() || !tb.Debits.Equal(tb.Credits) || len(tb.Balances) != propAccounts {
		t.Fatalf("after %d postings: trial balance debits %s credits %s total %s over %d accounts",
			posted, tb.Debits, tb.Credits, tb.Total, len(tb.Balances))
	}
	stored := balances(t, db.Pool, time.Time{})
	for code := range m.normal {
		want := m.balanceAsOf(code, time.Time{})
		if !stored[code].Equal(want) {
			t.Fatalf("after %d postings: stored balance of %s = %s, model %s", posted, code, stored[code], want)
		}
		es := allEntries(t, db.Pool, code, 1+r.IntN(ledger.PageSizeMax))
		sum := decimal.Zero
		for _, e := range es {
			sum = sum.Add(e.Amount)
		}
		if len(es) != m.count[code] || !signed(sum, m.normal[code]).Equal(want) {
			t.Fatalf("after %d postings: %s has %d entries summing to %s, model %d summing to %s",
				posted, code, len(es), sum, m.count[code], signed(m.sum[code], m.normal[code]))
		}
	}
	// As-of instants: exactly at a posting's time (inclusive bound), just
	// before one, at the edges of the snapshot buckets around it, and
	// before everything.
	samples := []time.Time{t0.Add(-time.Hour)}
	for range propAsOfSamples {
		at := times[r.IntN(len(times))]
		samples = append(samples, at, at.Add(-time.Microsecond))
	}
	samples = append(samples, instantsAround(times[r.IntN(len(times))])...)
	for _, asOf := range samples {
		got := balances(t, db.Pool, asOf)
		asOfTotal := decimal.Zero
		for code := range m.normal {
			want := m.balanceAsOf(code, asOf)
			if !got[code].Equal(want) {
				t.Fatalf("after %d postings: %s as of %s = %s, replay %s", posted, code, asOf.Format(time.RFC3339Nano), got[code], want)
			}
			asOfTotal = asOfTotal.Add(signed(got[code], m.normal[code]))
		}
		if !asOfTotal.IsZero() {
			t.Fatalf("after %d postings: balances as of %s sum to %s", posted, asOf, asOfTotal)
		}
	}
	rep := requireVerified(t, db.Pool)
	if rep.Transactions != int64(posted) || rep.Accounts != propAccounts {
		t.Fatalf("Verify saw %d transactions and %d accounts, want %d and %d", rep.Transactions, rep.Accounts, posted, propAccounts)
	}
}
