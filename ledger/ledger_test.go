package ledger_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// chart is a small chart of accounts of both normal sides.
var chart = []accountSpec{
	{"platform:commission_expense", ledger.Debit, 4},
	{"platform:payout_clearing", ledger.Credit, 1},
	{"partner:bob:accrued", ledger.Credit, 1},
	{"partner:bob:payable", ledger.Credit, 1},
}

// newJournal opens a fresh database with testProgram and chart.
func newJournal(t *testing.T) *txn.DB {
	t.Helper()
	db, _ := openDB(t)
	setupProgram(t, db, chart...)
	return db
}

// TestPostRejectsBadInput sends invalid postings and checks each fails
// InvalidArgument naming the offending field, and that nothing reached the
// journal; then the valid base posting goes through, so the cases fail for
// their own reason only.
func TestPostRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	cases := badPostings()
	txsBefore, entriesBefore := countRows(t, db.Pool)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPosting()
			c.modify(&p)
			_, _, err := post(ctx, db, p)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != c.code || fe.Field != c.field || !strings.HasPrefix(err.Error(), c.field+": ") {
				t.Fatalf("err = %v (%#v), want code %d on field %q", err, fe, c.code, c.field)
			}
			if txs, entries := countRows(t, db.Pool); txs != txsBefore || entries != entriesBefore {
				t.Fatalf("journal went from %d/%d to %d/%d rows", txsBefore, entriesBefore, txs, entries)
			}
		})
	}
	checkBatchAllOrNothing(ctx, t, db)

	// The base posting itself is fine.
	mustPost(t, db, validPosting())
	if txs, entries := countRows(t, db.Pool); txs != txsBefore+1 || entries != entriesBefore+2 {
		t.Fatalf("valid posting: %d/%d rows, want %d/%d", txs, entries, txsBefore+1, entriesBefore+2)
	}
	requireVerified(t, db.Pool)
}

// validPosting is the posting TestPostRejectsBadInput's cases spoil.
func validPosting() ledger.Posting {
	p := transfer("k1", "platform:commission_expense", "partner:bob:accrued", "10.00", t0)
	p.Metadata = map[string]string{"note": "ok"}
	return p
}

// badPosting spoils validPosting in one way, which Post refuses with code
// naming field.
type badPosting struct {
	name   string
	modify func(p *ledger.Posting)
	field  string
	code   fault.Code
}

// badPostings are the ways TestPostRejectsBadInput spoils a posting.
func badPostings() []badPosting {
	tooManyLegs := validPosting()
	tooManyLegs.Legs = nil
	for range ledger.LegsMax/2 + 1 {
		tooManyLegs.Legs = append(tooManyLegs.Legs,
			ledger.Leg{Account: "platform:commission_expense", Side: ledger.Debit, Amount: amount("1.00")},
			ledger.Leg{Account: "partner:bob:accrued", Side: ledger.Credit, Amount: amount("1.00")})
	}
	tooManyLegs.Legs = tooManyLegs.Legs[:ledger.LegsMax+1]
	tooManyLegs.Legs[ledger.LegsMax].Amount = amount("2.00") // Still balanced: LegsMax is even.
	tooManyLegs.Legs[ledger.LegsMax-1].Side, tooManyLegs.Legs[ledger.LegsMax-1].Account = ledger.Credit, "partner:bob:accrued"
	tooManyMeta := map[string]string{}
	for i := range ledger.MapEntriesMax + 1 {
		tooManyMeta[fmt.Sprintf("k%d", i)] = "v"
	}
	return []badPosting{
		{"unbalanced", func(p *ledger.Posting) { p.Legs[1].Amount = amount("9.99") }, "entries", fault.CodeInvalidArgument},
		{"one entry", func(p *ledger.Posting) { p.Legs = p.Legs[:1] }, "entries", fault.CodeInvalidArgument},
		{"zero amount", func(p *ledger.Posting) { p.Legs[1].Amount = decimal.Zero }, "entries[1].amount", fault.CodeInvalidArgument},
		{"negative amount", func(p *ledger.Posting) {
			p.Legs[1].Amount = amount("-10.00")
			p.Legs[1].Side = ledger.Debit // Balanced, were negatives allowed.
		}, "entries[1].amount", fault.CodeInvalidArgument},
		{"unknown account", func(p *ledger.Posting) { p.Legs[1].Account = "partner:nobody:accrued" }, "entries[1].account", fault.CodeInvalidArgument},
		{"empty account", func(p *ledger.Posting) { p.Legs[0].Account = "" }, "entries[0].account", fault.CodeInvalidArgument},
		{"bad side", func(p *ledger.Posting) { p.Legs[1].Side = 0 }, "entries[1].side", fault.CodeInvalidArgument},
		{"three decimals", func(p *ledger.Posting) {
			p.Legs[0].Amount, p.Legs[1].Amount = amount("10.005"), amount("10.005")
		}, "entries[0].amount", fault.CodeInvalidArgument},
		{"too many entries", func(p *ledger.Posting) { p.Legs = tooManyLegs.Legs }, "entries", fault.CodeInvalidArgument},
		{"oversize metadata value", func(p *ledger.Posting) {
			p.Metadata["note"] = strings.Repeat("x", ledger.MapValueLenMax+1)
		}, "metadata.note", fault.CodeInvalidArgument},
		{"too many metadata entries", func(p *ledger.Posting) { p.Metadata = tooManyMeta }, "metadata", fault.CodeInvalidArgument},
		{"too many references", func(p *ledger.Posting) { p.Refs = tooManyMeta }, "references", fault.CodeInvalidArgument},
		{"missing key", func(p *ledger.Posting) { p.Key = "" }, "idempotency_key", fault.CodeInvalidArgument},
		{"oversize key", func(p *ledger.Posting) { p.Key = strings.Repeat("k", ledger.KeyLenMax+1) }, "idempotency_key", fault.CodeInvalidArgument},
		{"missing kind", func(p *ledger.Posting) { p.Kind = "" }, "kind", fault.CodeInvalidArgument},
		{"missing at", func(p *ledger.Posting) { p.At = time.Time{} }, "at", fault.CodeInvalidArgument},
		{"bad period", func(p *ledger.Posting) { p.Period = "2026-13" }, "period", fault.CodeInvalidArgument},
		{"unknown program", func(p *ledger.Posting) { p.Program = "nope" }, "program", fault.CodeNotFound},
	}
}

// checkBatchAllOrNothing: a batch with a good posting before a bad one
// keeps neither.
func checkBatchAllOrNothing(ctx context.Context, t *testing.T, db *txn.DB) {
	txsBefore, entriesBefore := countRows(t, db.Pool)
	bad := validPosting()
	bad.Key, bad.Legs[1].Account = "k2", "partner:nobody:accrued"
	err := db.Run(ctx, func(tx pgx.Tx) error {
		_, _, err := ledger.PostBatch(ctx, tx, []ledger.Posting{validPosting(), bad})
		return err
	})
	if fault.CodeOf(err) != fault.CodeInvalidArgument || !strings.Contains(err.Error(), "entries[1].account") {
		t.Fatalf("batch with a bad second posting: %v", err)
	}
	if txs, entries := countRows(t, db.Pool); txs != txsBefore || entries != entriesBefore {
		t.Fatalf("failed batch left rows: %d/%d, want %d/%d", txs, entries, txsBefore, entriesBefore)
	}
	if b := balances(t, db.Pool, time.Time{}); !b["partner:bob:accrued"].IsZero() {
		t.Fatalf("failed batch moved a balance: %v", b)
	}
}

// TestReverse checks a reversal mirrors the original's entries, brings the
// balances back to what they were before it, replays under its own key, and
// that a transaction is reversed at most once.
func TestReverse(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	mustPost(t, db, transfer("seed", "platform:commission_expense", "partner:bob:accrued", "100.00", t0))
	before := balances(t, db.Pool, time.Time{})
	orig := mustPost(t, db, ledger.Posting{
		Program: testProgram, Key: "accrual", Kind: "accrual", At: t0.Add(time.Hour), Recorded: recorded,
		Refs: map[string]string{"order": "o1"},
		Legs: []ledger.Leg{
			{Account: "platform:commission_expense", Side: ledger.Debit, Amount: amount("45.10")},
			{Account: "partner:bob:accrued", Side: ledger.Credit, Amount: amount("40.00")},
			{Account: "partner:bob:payable", Side: ledger.Credit, Amount: amount("5.10")},
		},
	})
	if b := balances(t, db.Pool, time.Time{}); b["partner:bob:accrued"].Equal(before["partner:bob:accrued"]) {
		t.Fatalf("the original did not move balances: %v", b)
	}

	reverse := func(key string, id int64) (ledger.Transaction, bool, error) { return reverseAt(ctx, db, key, id) }
	rev, replayed, err := reverse("reverse-accrual", orig.ID)
	if err != nil || replayed {
		t.Fatalf("Reverse: replayed=%v err=%v", replayed, err)
	}
	checkMirrors(t, rev, orig)
	stored, err := ledger.Get(ctx, db.Pool, testProgram, rev.ID)
	if err != nil || stored.ReversesID != orig.ID || len(stored.Entries) != len(orig.Entries) {
		t.Fatalf("Get(reversal) = %+v, %v", stored, err)
	}
	if after := balances(t, db.Pool, time.Time{}); !equalBalances(after, before) {
		t.Fatalf("balances after reversal %v, before the original %v", after, before)
	}
	// As of between the original and its reversal, the original counts.
	if mid := balances(t, db.Pool, t0.Add(90*time.Minute)); !mid["partner:bob:payable"].Equal(amount("5.10")) {
		t.Fatalf("payable as of before the reversal = %s, want 5.10", mid["partner:bob:payable"])
	}

	if again, replayed, err := reverse("reverse-accrual", orig.ID); err != nil || !replayed || again.ID != rev.ID {
		t.Fatalf("reversal replayed under its key: id %d replayed=%v err=%v, want %d replayed", again.ID, replayed, err, rev.ID)
	}
	_, _, err = reverse("reverse-again", orig.ID)
	if fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Fatalf("second reversal: %v, want FailedPrecondition", err)
	}
	_, _, err = reverse("reverse-the-reversal", rev.ID)
	if fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Fatalf("reversing a reversal: %v, want FailedPrecondition", err)
	}
	_, _, err = reverse("reverse-nothing", rev.ID+1000)
	if fault.CodeOf(err) != fault.CodeNotFound {
		t.Fatalf("reversing an unknown transaction: %v, want NotFound", err)
	}
	if txs, _ := countRows(t, db.Pool); txs != 3 {
		t.Fatalf("%d transactions, want seed, original and one reversal", txs)
	}
	requireVerified(t, db.Pool)
}

// reverseAt reverses transaction id under key, two hours after t0.
func reverseAt(ctx context.Context, db *txn.DB, key string, id int64) (ledger.Transaction, bool, error) {
	var (
		tr       ledger.Transaction
		replayed bool
	)
	err := db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		tr, replayed, err = ledger.Reverse(ctx, tx, testProgram, id, key, t0.Add(2*time.Hour), "order cancelled", nil, recorded)
		return err
	})
	return tr, replayed, err
}

// checkMirrors: rev references orig, with its reason, and has orig's
// entries negated, in order.
func checkMirrors(t *testing.T, rev, orig ledger.Transaction) {
	t.Helper()
	if rev.ReversesID != orig.ID || rev.Refs["reverses"] != fmt.Sprint(orig.ID) || rev.Metadata["reason"] != "order cancelled" {
		t.Fatalf("reversal %+v does not reference %d", rev, orig.ID)
	}
	if len(rev.Entries) != len(orig.Entries) {
		t.Fatalf("reversal has %d entries, original %d", len(rev.Entries), len(orig.Entries))
	}
	for i, e := range rev.Entries {
		o := orig.Entries[i]
		if e.Account != o.Account || !e.Amount.Equal(o.Amount.Neg()) {
			t.Fatalf("reversal entry %d = %s %s, want %s %s", i, e.Account, e.Amount, o.Account, o.Amount.Neg())
		}
	}
}

func equalBalances(a, b map[string]decimal.Decimal) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}

// TestJournalIsAppendOnlyForTheApplication checks that the application role
// may not change or remove journal rows, whatever it tries, and that the
// journal still verifies afterwards.
func TestJournalIsAppendOnlyForTheApplication(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	mustPost(t, db, transfer("k1", "platform:commission_expense", "partner:bob:accrued", "12.34", t0))
	if err := db.Run(ctx, func(tx pgx.Tx) error {
		_, err := ledger.Seal(ctx, tx, testProgram, farFuture, testKey)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := balances(t, db.Pool, time.Time{})
	var role string
	if err := db.Pool.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil || role != "accrue_app" {
		t.Fatalf("application pool runs as %q (%v), want accrue_app", role, err)
	}
	for _, stmt := range []string{
		"UPDATE entries SET amount = amount * 2",
		"UPDATE transactions SET kind = 'edited'",
		"DELETE FROM entries",
		"DELETE FROM transactions",
		"DELETE FROM seals",
		"UPDATE seals SET hash = prev_hash",
		"TRUNCATE entries",
	} {
		_, err := db.Pool.Exec(ctx, stmt)
		if sqlState(err) != "42501" {
			t.Errorf("%s as the application: %v, want SQLSTATE 42501", stmt, err)
		}
	}
	if after := balances(t, db.Pool, time.Time{}); !equalBalances(after, before) {
		t.Fatalf("balances changed: %v, want %v", after, before)
	}
	if txs, entries := countRows(t, db.Pool); txs != 1 || entries != 2 {
		t.Fatalf("journal has %d/%d rows, want 1/2", txs, entries)
	}
	requireVerified(t, db.Pool)
}

// TestPagesCoverEveryRowOnce pages through transactions (all, and filtered
// by reference) and entries with keyset cursors of odd page sizes.
func TestPagesCoverEveryRowOnce(t *testing.T) {
	ctx := context.Background()
	db := newJournal(t)
	const n = 230
	wantIDs := map[int64]bool{}
	wantOrder := map[int64]bool{}
	for i := range n {
		p := transfer(fmt.Sprintf("k%d", i), "platform:commission_expense", "partner:bob:accrued", "1.00", t0.Add(time.Duration(i)*time.Minute))
		if i%3 == 0 {
			p.Legs[1].Account = "partner:bob:payable"
		}
		if i%7 == 0 {
			p.Refs = map[string]string{"order": "o7", "partner": "bob"}
		}
		tr := mustPost(t, db, p)
		wantIDs[tr.ID] = true
		if i%7 == 0 {
			wantOrder[tr.ID] = true
		}
	}
	for _, limit := range []int{1, 7, 100, 0} {
		wantIDSet(t, fmt.Sprintf("transactions limit %d", limit), pageTransactions(ctx, t, db, nil, limit), wantIDs)
	}
	wantIDSet(t, "transactions of order o7", pageTransactions(ctx, t, db, map[string]string{"order": "o7"}, 4), wantOrder)
	if got := pageTransactions(ctx, t, db, map[string]string{"order": "o7", "partner": "carol"}, 4); len(got) != 0 {
		t.Fatalf("filter matching nothing listed %d transactions", len(got))
	}
	checkEntryPages(t, db, n)
	checkEntryPageCap(ctx, t, db, n)
}

// pageTransactions lists the ids of the transactions with refs, limit a
// page, following the keyset cursor to the end.
func pageTransactions(ctx context.Context, t *testing.T, db *txn.DB, refs map[string]string, limit int) []int64 {
	t.Helper()
	var ids []int64
	for after := int64(0); ; {
		page, err := ledger.ListTransactions(ctx, db.Pool, testProgram, ledger.TransactionFilter{Refs: refs, AfterID: after, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if size := cmp.Or(limit, ledger.PageSizeDefault); len(page) > size {
			t.Fatalf("page of %d rows for limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return ids
		}
		for _, tr := range page {
			if len(tr.Entries) != 2 {
				t.Fatalf("transaction %d listed with %d entries", tr.ID, len(tr.Entries))
			}
			ids = append(ids, tr.ID)
		}
		after = page[len(page)-1].ID
	}
}

// wantIDSet: got is want's ids, each once, ascending.
func wantIDSet(t *testing.T, name string, got []int64, want map[int64]bool) {
	t.Helper()
	t.Helper()
	if len(got) != len(want) || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("%s: %d ids (sorted %v), want %d distinct ascending", name, len(got), slices.IsSorted(got), len(want))
	}
	for _, id := range got {
		if !want[id] {
			t.Fatalf("%s: unexpected id %d", name, id)
		}
	}
}

// checkEntryPages: the entries of each account of TestPagesCoverEveryRowOnce's
// n transfers page out once each, ascending, whatever the page size.
func checkEntryPages(t *testing.T, db *txn.DB, n int) {
	t.Helper()
	for _, acct := range []string{"platform:commission_expense", "partner:bob:accrued", "partner:bob:payable"} {
		for _, limit := range []int{1, 13, ledger.PageSizeMax + 5} {
			es := allEntries(t, db.Pool, acct, limit)
			ids := make([]int64, len(es))
			for i, e := range es {
				ids[i] = e.ID
				if e.Account != acct {
					t.Fatalf("entry %d of %s listed as %s", e.ID, acct, e.Account)
				}
			}
			want := map[string]int{"platform:commission_expense": n, "partner:bob:payable": (n + 2) / 3, "partner:bob:accrued": n - (n+2)/3}[acct]
			if len(ids) != want || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != want {
				t.Fatalf("%s with limit %d: %d entries, want %d distinct ascending", acct, limit, len(ids), want)
			}
		}
	}
}

// checkEntryPageCap: past PageSizeMax entries on one account a page is
// capped: 5 postings of LegsMax-1 expense legs add to the n already there.
func checkEntryPageCap(ctx context.Context, t *testing.T, db *txn.DB, n int) {
	t.Helper()
	for i := range 5 {
		p := ledger.Posting{Program: testProgram, Key: fmt.Sprintf("many-%d", i), Kind: "test", At: t0.Add(time.Duration(n+i) * time.Minute), Recorded: recorded}
		for range ledger.LegsMax - 1 {
			p.Legs = append(p.Legs, ledger.Leg{Account: "platform:commission_expense", Side: ledger.Debit, Amount: amount("0.01")})
		}
		total := amount("0.01").Mul(decimal.NewFromInt(ledger.LegsMax - 1))
		p.Legs = append(p.Legs, ledger.Leg{Account: "partner:bob:accrued", Side: ledger.Credit, Amount: total})
		mustPost(t, db, p)
	}
	expenseEntries := n + 5*(ledger.LegsMax-1)
	for _, tc := range []struct{ limit, want int }{{ledger.PageSizeMax + 5, ledger.PageSizeMax}, {ledger.PageSizeMax, ledger.PageSizeMax}, {0, ledger.PageSizeDefault}} {
		page, err := ledger.ListEntries(ctx, db.Pool, testProgram, "platform:commission_expense", 0, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != tc.want {
			t.Errorf("ListEntries limit %d: %d entries, want %d (of %d)", tc.limit, len(page), tc.want, expenseEntries)
		}
	}
	if es := allEntries(t, db.Pool, "platform:commission_expense", ledger.PageSizeMax+5); len(es) != expenseEntries {
		t.Errorf("paging with limit %d: %d entries, want %d", ledger.PageSizeMax+5, len(es), expenseEntries)
	}
	if _, err := ledger.ListEntries(ctx, db.Pool, testProgram, "partner:nobody:accrued", 0, 10); fault.CodeOf(err) != fault.CodeNotFound {
		t.Fatalf("entries of an unknown account: %v, want NotFound", err)
	}
}
