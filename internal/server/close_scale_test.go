package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
)

// scaleFixture is a program of n partners p000000… in a binary referral
// tree (the parent of i is (i-1)/2), each with one order paid in January,
// written set-based: partners and accounts with SQL, the orders' accruals
// through ledger.PostBatch (so the journal verifies), as PayOrder under
// closeRules would leave them. Order i is worth 10 × (30 + i mod 120)
// dollars, so its 10% commission and its parent's 2% are exact in cents;
// every 7th partner is suspended; orders with i mod 4 = 3 are paid on
// January 25 and their 14-day hold ends after the period, the others on
// January 5.
type scaleFixture struct {
	n int
}

func (f scaleFixture) partner(i int) string { return fmt.Sprintf("p%06d", i) }

func (f scaleFixture) amount(i int) decimal.Decimal {
	return decimal.NewFromInt(int64(10 * (30 + i%120)))
}

func (f scaleFixture) paid(i int) time.Time {
	if i%4 == 3 {
		return day(time.January, 25)
	}
	return day(time.January, 5)
}

func (f scaleFixture) matured(i int) bool { return i%4 != 3 }

func (f scaleFixture) active(i int) bool { return i%7 != 6 }

// scaleFixtureChunk is how many partners one fixture transaction writes.
const scaleFixtureChunk = 2000

// write writes the fixture into h's program.
func (f scaleFixture) write(h *harness) {
	h.t.Helper()
	for lo := 0; lo < f.n; lo += scaleFixtureChunk {
		hi := min(lo+scaleFixtureChunk, f.n)
		h.must(pgx.BeginFunc(h.ctx, h.db.Pool, func(tx pgx.Tx) error { return f.writeChunk(h, tx, lo, hi) }))
	}
	_, err := h.db.Pool.Exec(h.ctx, `ANALYZE partners, accounts, orders, transactions, entries`)
	h.must(err)
}

// writeChunk writes partners [lo, hi) with their accounts and orders.
func (f scaleFixture) writeChunk(h *harness, tx pgx.Tx, lo, hi int) error {
	var ids, statuses, parents, orders []string
	var paid, matures []time.Time
	for i := lo; i < hi; i++ {
		status := "active"
		if !f.active(i) {
			status = "suspended"
		}
		parent := ""
		if i > 0 {
			parent = f.partner((i - 1) / 2)
		}
		ids, statuses, parents = append(ids, f.partner(i)), append(statuses, status), append(parents, parent)
		orders, paid = append(orders, "o"+f.partner(i)), append(paid, f.paid(i))
		matures = append(matures, f.paid(i).Add(14*24*time.Hour))
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO partners (program_id, id, code, status, registered_at)
			SELECT $1, u.id, upper(u.id), u.status, $4 FROM unnest($2::text[], $3::text[]) u(id, status)`,
			[]any{testProgram, ids, statuses, day(time.January, 2)}},
		{`INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from)
			SELECT $1, u.id, u.parent, $4 FROM unnest($2::text[], $3::text[]) u(id, parent) WHERE u.parent <> ''`,
			[]any{testProgram, ids, parents, day(time.January, 2)}},
		{`INSERT INTO accounts (program_id, code, normal_side, currency, created_at)
			SELECT $1, 'partner:' || u.id || ':' || k, -1, 'USD', $4 FROM unnest($2::text[]) u(id), unnest($3::text[]) k`,
			[]any{testProgram, ids, affiliate.PartnerAccountKinds, harnessNow}},
		{`INSERT INTO orders (program_id, id, customer, status, lines, shipping, partner_id, attribution, accrued, rules_version,
				state, paid_at, accrued_at, matures_at, matured)
			SELECT $1, u.id, 'c-' || u.id, 'paid', '[]', 0, u.partner, 'partner_code', true, 1, '{}', u.paid, u.paid, u.matures, false
			FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) u(id, partner, paid, matures)`,
			[]any{testProgram, orders, ids, paid, matures}},
	} {
		if _, err := tx.Exec(h.ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	var ps []ledger.Posting
	for i := lo; i < hi; i++ {
		ps = append(ps, f.accrual(i))
	}
	_, _, err := ledger.PostBatch(h.ctx, tx, ps)
	return err
}

// accrual is order i's posting, as PayOrder would post it under a hold.
func (f scaleFixture) accrual(i int) ledger.Posting {
	p, amount := f.partner(i), f.amount(i)
	legs := []ledger.Leg{
		{Account: "platform:attributed_sales", Side: ledger.Debit, Amount: amount},
		{Account: affiliate.PartnerAccount(p, affiliate.Sales), Side: ledger.Credit, Amount: amount},
		{Account: "platform:commission_expense", Side: ledger.Debit, Amount: amount.Mul(decimal.New(1, -1))},
		{Account: affiliate.PartnerAccount(p, affiliate.Pending), Side: ledger.Credit, Amount: amount.Mul(decimal.New(1, -1))},
	}
	if i > 0 {
		up := amount.Mul(decimal.RequireFromString("0.02"))
		legs = append(legs, ledger.Leg{Account: "platform:upline_expense", Side: ledger.Debit, Amount: up},
			ledger.Leg{Account: affiliate.PartnerAccount(f.partner((i-1)/2), affiliate.Pending), Side: ledger.Credit, Amount: up})
	}
	order := "o" + p
	return ledger.Posting{Program: testProgram, Key: "cmd:fixture:" + order, Kind: affiliate.KindAccrual, At: f.paid(i),
		Refs: map[string]string{"order": order, "partner": p, "customer": "c-" + order}, Legs: legs, Recorded: harnessNow}
}

// lines is how many lines partner i's statement has: per order that
// accrued to it (its own, its children's), the accrual and, when it
// matured, the maturing's two legs; the release's two legs.
func (f scaleFixture) lines(i int) int {
	n := 0
	for _, j := range []int{i, 2*i + 1, 2*i + 2} {
		if j < f.n {
			n++
			if f.matured(j) {
				n += 2
			}
		}
	}
	if _, _, _, released := f.want(i); released.IsPositive() {
		n += 2
	}
	return n
}

// want is the reference close of partner i: its closing balances and what
// it released.
func (f scaleFixture) want(i int) (pending, accrued, payable, released decimal.Decimal) {
	add := func(j int, d decimal.Decimal) {
		if f.matured(j) {
			accrued = accrued.Add(d)
		} else {
			pending = pending.Add(d)
		}
	}
	add(i, f.amount(i).Mul(decimal.New(1, -1)))
	for _, c := range []int{2*i + 1, 2*i + 2} {
		if c < f.n {
			add(c, f.amount(c).Mul(decimal.RequireFromString("0.02")))
		}
	}
	if f.active(i) && accrued.GreaterThanOrEqual(decimal.NewFromInt(100)) {
		released, payable, accrued = accrued, accrued, decimal.Zero
	}
	return pending, accrued, payable, released
}

// TestCloseAtScale closes January for 20,000 partners and checks every
// statement and every partner balance against the reference close
// (scaleFixture.want), the period's totals, and that the journal verifies.
func TestCloseAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a close of 20,000 partners")
	}
	h := newHarness(t, "14d")
	f := scaleFixture{n: 20_000}
	t0 := time.Now()
	f.write(h)
	t1 := time.Now()
	resp := h.close("2026-01", day(time.February, 1))
	t.Logf("fixture %v, close %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	total := decimal.Zero
	for i := range f.n {
		_, _, _, released := f.want(i)
		total = total.Add(released)
	}
	if resp.Statements != int32(f.n) || resp.Released != total.StringFixed(2) {
		t.Fatalf("close: %v, want %d statements releasing %s", resp, f.n, total.StringFixed(2))
	}
	f.check(h)
	report, err := ledger.Verify(h.ctx, h.db.Pool, testProgram)
	if err != nil || !report.OK() {
		t.Fatalf("verify: %v %v", report.Problems, err)
	}
}

// check compares every statement of January and every partner balance
// with the reference.
func (f scaleFixture) check(h *harness) {
	h.t.Helper()
	rows, err := h.db.Pool.Query(h.ctx, `SELECT partner_id, released::text, status, body->'closing'->>'pending',
		body->'closing'->>'accrued', body->'closing'->>'payable', jsonb_array_length(body->'lines')
		FROM statements WHERE program_id = $1 AND period = '2026-01' ORDER BY partner_id`, testProgram)
	h.must(err)
	type stated struct {
		partner, released, status, pending, accrued, payable string
		lines                                                int
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stated, error) {
		var s stated
		return s, r.Scan(&s.partner, &s.released, &s.status, &s.pending, &s.accrued, &s.payable, &s.lines)
	})
	h.must(err)
	if len(got) != f.n {
		h.t.Fatalf("%d statements, want %d", len(got), f.n)
	}
	balances := h.balances()
	bad := 0
	for i, s := range got {
		pending, accrued, payable, released := f.want(i)
		status := affiliate.StatementStatus(released)
		want := stated{f.partner(i), released.StringFixed(2), status, pending.StringFixed(2), accrued.StringFixed(2), payable.StringFixed(2), f.lines(i)}
		if s != want {
			h.t.Errorf("statement %d: got %+v, want %+v", i, s, want)
		}
		for kind, d := range map[string]decimal.Decimal{affiliate.Pending: pending, affiliate.Accrued: accrued, affiliate.Payable: payable} {
			b, ok := balances[affiliate.PartnerAccount(f.partner(i), kind)]
			if (d.IsZero() && ok) || (!d.IsZero() && b != d.StringFixed(2)) {
				h.t.Errorf("balance of %s %s: %q, want %s", f.partner(i), kind, b, d.StringFixed(2))
			}
		}
		if h.t.Failed() {
			if bad++; bad > 10 {
				h.t.FailNow()
			}
		}
	}
}
