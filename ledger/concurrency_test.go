package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// Concurrency test sizes.
const (
	concWriters  = 16
	concPerGo    = 40 // Transactions per writer.
	concBatch    = 5  // Postings per transaction for the batching writers.
	concAccounts = 8  // Cold accounts besides the hot one.
	concTimeout  = 2 * time.Minute
	// As-of snapshots during the test: entries per Snapshot call and the
	// entries that enroll an account.
	concSnapshotBatch = 50
	concSnapshotMin   = 100
	concAsOfEvery     = 8 // As-of checks at every 8th minute's edges.
	concSnapshotPause = 5 * time.Millisecond
)

// TestConcurrentWritersToHotAccount runs concWriters goroutines that post
// at once, every posting touching one hot account plus random others (half
// the writers in batches), and checks no update was lost: each balance
// equals what the writers posted, balances as of past instants match the
// model whatever the snapshots folded meanwhile, and Verify is clean. A
// deadlock or a stuck lock fails the test through the context deadline.
func TestConcurrentWritersToHotAccount(t *testing.T) {
	for _, shards := range []int{16, 1} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), concTimeout)
			defer cancel()
			db, _ := openDB(t)
			specs := []accountSpec{{"platform:hot", ledger.Debit, shards}}
			for i := range concAccounts {
				specs = append(specs, accountSpec{fmt.Sprintf("partner:%d:accrued", i), ledger.Credit, 1})
			}
			setupProgram(t, db, specs...)
			m, postings := runHotWriters(ctx, t, db, specs, shards)
			checkHotAccount(ctx, t, db, m, postings, shards)
		})
	}
}

// runHotWriters runs concWriters writers at once over the accounts of
// specs, half of them posting in batches (a fifth of the postings late,
// back to an earlier minute), beside a goroutine taking snapshots, and
// returns the model of what they posted and how many postings. It stops the
// test on any error.
func runHotWriters(ctx context.Context, t *testing.T, db *txn.DB, specs []accountSpec, shards int) (*model, int) {
	var (
		mu       sync.Mutex
		m        = newModel()
		errs     = make(chan error, concWriters)
		wg       sync.WaitGroup
		start    = make(chan struct{})
		postings = 0
	)
	for _, s := range specs {
		m.normal[s.code] = s.normal
	}
	// Snapshots taken all along, in small batches, so the cut passes
	// transactions in flight.
	t.Cleanup(ledger.SetSnapshotLimits(concSnapshotBatch, concSnapshotMin))
	stopSnapshots := make(chan struct{})
	snapshotsDone := make(chan error, 1)
	go func() { snapshotsDone <- snapshotUntil(ctx, db, stopSnapshots) }()
	for w := range concWriters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(shards)))
			<-start
			for i := range concPerGo {
				n := 1
				if w%2 == 1 {
					n = concBatch
				}
				batch := hotBatch(r, w, i, n)
				err := db.Run(ctx, func(tx pgx.Tx) error {
					_, _, err := ledger.PostBatch(ctx, tx, batch)
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d transaction %d: %w", w, i, err)
					return
				}
				mu.Lock()
				for _, p := range batch {
					m.apply(p)
				}
				postings += n
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	close(stopSnapshots)
	if err := <-snapshotsDone; err != nil {
		t.Error(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return m, postings
}

// checkHotAccount: every posting was written once, every balance is what
// the model posted, the hot account's shards count one entry per posting,
// balances as of past instants match the model, and the journal verifies.
func checkHotAccount(ctx context.Context, t *testing.T, db *txn.DB, m *model, postings, shards int) {
	wantPostings := concWriters / 2 * concPerGo * (1 + concBatch)
	if txs, _ := countRows(t, db.Pool); postings != wantPostings || txs != int64(wantPostings) {
		t.Fatalf("posted %d, %d rows in transactions, want %d", postings, txs, wantPostings)
	}
	got := balances(t, db.Pool, time.Time{})
	for code := range m.normal {
		if want := m.balanceAsOf(code, time.Time{}); !got[code].Equal(want) {
			t.Errorf("balance of %s = %s, posted %s", code, got[code], want)
		}
	}
	// Every posting hit the hot account: its entries count
	// must be one per posting.
	if n := m.count["platform:hot"]; n != wantPostings {
		t.Errorf("model has %d hot entries, want %d", n, wantPostings)
	}
	var hotRows, hotEntries int64
	err := db.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(sum(b.entries), 0) FROM balances b
		JOIN accounts a ON a.id = b.account_id WHERE a.code = 'platform:hot'`).Scan(&hotRows, &hotEntries)
	if err != nil {
		t.Fatal(err)
	}
	if hotEntries != int64(wantPostings) || hotRows != int64(shards) {
		// Hundreds of consecutive ids leave no shard unused.
		t.Errorf("hot account: %d shard rows counting %d entries, want %d rows and %d entries",
			hotRows, hotEntries, shards, wantPostings)
	}
	checkHotAsOf(t, db, m)
	requireVerified(t, db.Pool)
}

// checkHotAsOf reads balances as of the edges of every concAsOfEvery-th
// minute (late postings land in any of them), with the tail the concurrent
// snapshots left and after a last one folded it.
func checkHotAsOf(t *testing.T, db *txn.DB, m *model) {
	var instants []time.Time
	for i := 0; i < concPerGo; i += concAsOfEvery {
		instants = append(instants, instantsAround(t0.Add(time.Duration(i)*time.Minute+time.Second))...)
	}
	checkAsOf(t, db.Pool, m, instants, "after concurrent snapshots")
	snapshot(t, db)
	checkAsOf(t, db.Pool, m, instants, "after a last snapshot")
}

// snapshotUntil runs ledger.Snapshot every concSnapshotPause until stop
// is closed (a busy loop would take a core from the writers).
func snapshotUntil(ctx context.Context, db *txn.DB, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-time.After(concSnapshotPause):
		}
		if err := db.Run(ctx, func(tx pgx.Tx) error {
			_, err := ledger.Snapshot(ctx, tx)
			return err
		}); err != nil {
			return fmt.Errorf("Snapshot: %w", err)
		}
	}
}

// hotBatch is writer w's transaction i of n hot postings at minute i, a
// fifth of them late: back to an earlier minute.
func hotBatch(r *rand.Rand, w, i, n int) []ledger.Posting {
	batch := make([]ledger.Posting, n)
	for j := range batch {
		at := t0.Add(time.Duration(i) * time.Minute)
		if r.IntN(5) == 0 {
			at = t0.Add(time.Duration(r.IntN(i+1))*time.Minute - time.Duration(r.IntN(60))*time.Second)
		}
		batch[j] = hotPosting(r, fmt.Sprintf("w%d-%d-%d", w, i, j), at)
	}
	return batch
}

// hotPosting debits the hot account and credits one to three random
// partner accounts, in random leg order.
func hotPosting(r *rand.Rand, key string, at time.Time) ledger.Posting {
	p := ledger.Posting{Program: testProgram, Key: key, Kind: "conc", At: at, Recorded: recorded}
	total := int64(0)
	for range 1 + r.IntN(3) {
		cents := 1 + r.Int64N(100_000)
		total += cents
		p.Legs = append(p.Legs, leg(fmt.Sprintf("partner:%d:accrued", r.IntN(concAccounts)), -cents))
	}
	p.Legs = append(p.Legs, leg("platform:hot", total))
	r.Shuffle(len(p.Legs), func(i, j int) { p.Legs[i], p.Legs[j] = p.Legs[j], p.Legs[i] })
	return p
}

// TestIdempotencyKeyRace posts the same key from 8 goroutines at once, each
// in its own transaction: exactly one writes, the others replay its
// transaction; balances move once. The key with another payload then fails
// AlreadyExists and still writes nothing.
func TestIdempotencyKeyRace(t *testing.T) {
	const (
		racers = 8
		rounds = 5
	)
	ctx, cancel := context.WithTimeout(context.Background(), concTimeout)
	defer cancel()
	db, _ := openDB(t)
	setupProgram(t, db,
		accountSpec{"platform:commission_expense", ledger.Debit, 4},
		accountSpec{"partner:bob:accrued", ledger.Credit, 1})
	for round := range rounds {
		raceKey(ctx, t, db, round, racers)
	}
	want := amount("10.25").Mul(decimal.NewFromInt(rounds))
	if b := balances(t, db.Pool, time.Time{}); !b["partner:bob:accrued"].Equal(want) || !b["platform:commission_expense"].Equal(want) {
		t.Fatalf("balances %v, want both %s", b, want)
	}
	checkKeyReuseRefused(ctx, t, db)
	requireVerified(t, db.Pool)
}

// raceKey has racers post one 10.25 transfer keyed for round at once:
// exactly one writes, the others replay it, and the journal holds one row.
func raceKey(ctx context.Context, t *testing.T, db *txn.DB, round, racers int) {
	key := fmt.Sprintf("order-%d-paid", round)
	p := transfer(key, "platform:commission_expense", "partner:bob:accrued", "10.25", t0.Add(time.Duration(round)*time.Hour))
	type result struct {
		id       int64
		replayed bool
		err      error
	}
	results := make([]result, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			tr, replayed, err := post(ctx, db, p)
			results[i] = result{tr.ID, replayed, err}
		})
	}
	close(start)
	wg.Wait()

	fresh := 0
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("round %d racer %d: %v", round, i, res.err)
		}
		if res.id != results[0].id || res.id == 0 {
			t.Fatalf("round %d: racers got transactions %+v, want one id", round, results)
		}
		if !res.replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("round %d: %d racers wrote (replayed=false), want exactly 1: %+v", round, fresh, results)
	}
	var rows int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE program_id = $1 AND idempotency_key = $2`,
		testProgram, key).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("round %d: %d transactions rows for key %s, want 1", round, rows, key)
	}
}

// checkKeyReuseRefused: a key posted with another payload (amount, time)
// or another explicit request hash is AlreadyExists and writes nothing;
// the same request hash replays whatever the content.
func checkKeyReuseRefused(ctx context.Context, t *testing.T, db *txn.DB) {
	txsBefore, entriesBefore := countRows(t, db.Pool)
	// The same key with another payload: amount, time, or request hash.
	other := transfer("order-0-paid", "platform:commission_expense", "partner:bob:accrued", "10.26", t0)
	later := transfer("order-0-paid", "platform:commission_expense", "partner:bob:accrued", "10.25", t0.Add(time.Second))
	for name, p := range map[string]ledger.Posting{"amount": other, "at": later} {
		_, _, err := post(ctx, db, p)
		if fault.CodeOf(err) != fault.CodeAlreadyExists {
			t.Errorf("same key, other %s: err %v, want AlreadyExists", name, err)
		}
	}
	// An explicit request hash decides, not the content.
	withHash := transfer("by-request", "platform:commission_expense", "partner:bob:accrued", "1.00", t0)
	withHash.RequestHash = []byte("request-1")
	first := mustPost(t, db, withHash)
	again := withHash
	again.Legs = slices.Clone(withHash.Legs)
	again.Legs[0].Amount, again.Legs[1].Amount = amount("2.00"), amount("2.00")
	if tr, replayed, err := post(ctx, db, again); err != nil || !replayed || tr.ID != first.ID || !tr.Entries[0].Amount.Equal(amount("1.00")) {
		t.Errorf("same request hash: %+v replayed=%v err=%v, want the first transaction %d replayed", tr, replayed, err, first.ID)
	}
	again.RequestHash = []byte("request-2")
	if _, _, err := post(ctx, db, again); fault.CodeOf(err) != fault.CodeAlreadyExists {
		t.Errorf("same key, other request hash: err %v, want AlreadyExists", err)
	}
	if txs, entries := countRows(t, db.Pool); txs != txsBefore+1 || entries != entriesBefore+2 {
		t.Fatalf("rows went from %d/%d to %d/%d, want exactly one more transaction", txsBefore, entriesBefore, txs, entries)
	}
}
