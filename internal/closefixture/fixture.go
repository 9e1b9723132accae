// Package closefixture writes a large program for tests of the month close
// and knows, for each of its partners, what the close must leave: a
// reference computed without the close's code. It is for tests only: it
// writes domain rows with SQL (partners, accounts, orders) and the
// journal through ledger.PostBatch, set-based, so a close of tens of
// thousands of partners can be set up in seconds and still verifies.
package closefixture

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
)

// Rules is the rules document the fixture is written for, with the
// statements schedule's cron left to fill in: 10% commission, a 2% upline
// bonus on level 1, a $100 minimum, a 14-day hold.
const Rules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 14d
commission: {default: 10%%}
upline:
  - {level: 1, rate: 2%%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "%s", due_day: 15}
`

// Fixture is a program of N partners p000000… in a binary referral tree
// (the parent of i is (i-1)/2), each with one order paid in the month
// that starts at Start (midnight UTC, the program's first month). Order i
// is worth 10 × (30 + i mod 120) dollars, so its 10% commission and its
// parent's 2% are exact in cents; every 7th partner is suspended; orders
// with i mod 4 = 3 are paid on the 25th and their hold ends after the
// month, the others on the 5th.
type Fixture struct {
	Program string
	N       int
	Start   time.Time
}

// chunk is how many partners one fixture transaction writes.
const chunk = 2000

// Period is the month the fixture's orders are booked in.
func (f Fixture) Period() string { return f.Start.Format("2006-01") }

// Partner is the id of partner i.
func (f Fixture) Partner(i int) string { return fmt.Sprintf("p%06d", i) }

func (f Fixture) amount(i int) decimal.Decimal { return decimal.NewFromInt(int64(10 * (30 + i%120))) }

func (f Fixture) commission(i int) decimal.Decimal { return f.amount(i).Mul(decimal.New(1, -1)) }

func (f Fixture) upline(i int) decimal.Decimal { return f.amount(i).Mul(decimal.New(2, -2)) }

func (f Fixture) paid(i int) time.Time {
	if i%4 == 3 {
		return f.Start.AddDate(0, 0, 24).Add(12 * time.Hour)
	}
	return f.Start.AddDate(0, 0, 4).Add(12 * time.Hour)
}

func (f Fixture) matured(i int) bool { return i%4 != 3 }

func (f Fixture) active(i int) bool { return i%7 != 6 }

// Write writes the fixture into its program, which must exist with Rules
// in force from Start; recorded is the journal's recording time.
func (f Fixture) Write(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, recorded time.Time) error {
	for lo := 0; lo < f.N; lo += chunk {
		hi := min(lo+chunk, f.N)
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return f.writeChunk(ctx, tx, lo, hi, recorded) }); err != nil {
			return fmt.Errorf("closefixture: partners %d to %d: %w", lo, hi, err)
		}
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `ANALYZE partners, accounts, orders, transactions, entries`)
		return err
	})
}

// writeChunk writes partners [lo, hi) with their accounts and orders.
func (f Fixture) writeChunk(ctx context.Context, tx pgx.Tx, lo, hi int, recorded time.Time) error {
	var ids, statuses, parents, orders []string
	var paid, matures []time.Time
	for i := lo; i < hi; i++ {
		status, parent := affiliate.StatusActive, ""
		if !f.active(i) {
			status = "suspended"
		}
		if i > 0 {
			parent = f.Partner((i - 1) / 2)
		}
		ids, statuses, parents = append(ids, f.Partner(i)), append(statuses, status), append(parents, parent)
		orders, paid = append(orders, "o"+f.Partner(i)), append(paid, f.paid(i))
		matures = append(matures, f.paid(i).Add(14*24*time.Hour))
	}
	registered := f.Start.Add(24 * time.Hour)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO partners (program_id, id, code, status, registered_at)
			SELECT $1, u.id, upper(u.id), u.status, $4 FROM unnest($2::text[], $3::text[]) u(id, status)`,
			[]any{f.Program, ids, statuses, registered}},
		{`INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from)
			SELECT $1, u.id, u.parent, $4 FROM unnest($2::text[], $3::text[]) u(id, parent) WHERE u.parent <> ''`,
			[]any{f.Program, ids, parents, registered}},
		{`INSERT INTO accounts (program_id, code, normal_side, currency, created_at)
			SELECT $1, 'partner:' || u.id || ':' || k, -1, 'USD', $4 FROM unnest($2::text[]) u(id), unnest($3::text[]) k`,
			[]any{f.Program, ids, affiliate.PartnerAccountKinds, recorded}},
		{`INSERT INTO orders (program_id, id, customer, status, lines, shipping, partner_id, attribution, accrued, rules_version,
				state, paid_at, accrued_at, matures_at, matured)
			SELECT $1, u.id, 'c-' || u.id, 'paid', '[]', 0, u.partner, 'partner_code', true, 1, '{}', u.paid, u.paid, u.matures, false
			FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) u(id, partner, paid, matures)`,
			[]any{f.Program, orders, ids, paid, matures}},
	} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	var ps []ledger.Posting
	for i := lo; i < hi; i++ {
		ps = append(ps, f.accrual(i, recorded))
	}
	_, _, err := ledger.PostBatch(ctx, tx, ps)
	return err
}

// accrual is order i's posting, as PayOrder posts it under a hold.
func (f Fixture) accrual(i int, recorded time.Time) ledger.Posting {
	p, amount := f.Partner(i), f.amount(i)
	legs := []ledger.Leg{
		{Account: affiliate.AttributedSales, Side: ledger.Debit, Amount: amount},
		{Account: affiliate.PartnerAccount(p, affiliate.Sales), Side: ledger.Credit, Amount: amount},
		{Account: affiliate.CommissionExpense, Side: ledger.Debit, Amount: f.commission(i)},
		{Account: affiliate.PartnerAccount(p, affiliate.Pending), Side: ledger.Credit, Amount: f.commission(i)},
	}
	if i > 0 {
		legs = append(legs, ledger.Leg{Account: affiliate.UplineExpense, Side: ledger.Debit, Amount: f.upline(i)},
			ledger.Leg{Account: affiliate.PartnerAccount(f.Partner((i-1)/2), affiliate.Pending), Side: ledger.Credit, Amount: f.upline(i)})
	}
	order := "o" + p
	return ledger.Posting{Program: f.Program, Key: "cmd:fixture:" + order, Kind: affiliate.KindAccrual, At: f.paid(i),
		Refs: map[string]string{"order": order, "partner": p, "customer": "c-" + order}, Legs: legs, Recorded: recorded}
}
