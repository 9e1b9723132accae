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

// Want is the reference close of partner i: its closing balances and what
// it released. Its own order's commission and its children's upline
// bonuses are accrued when their hold ended in the month, else pending; an
// active partner with at least the $100 minimum accrued is released whole.
func (f Fixture) Want(i int) (pending, accrued, payable, released decimal.Decimal) {
	add := func(j int, d decimal.Decimal) {
		if f.matured(j) {
			accrued = accrued.Add(d)
		} else {
			pending = pending.Add(d)
		}
	}
	add(i, f.commission(i))
	for _, c := range []int{2*i + 1, 2*i + 2} {
		if c < f.N {
			add(c, f.upline(c))
		}
	}
	if f.active(i) && accrued.GreaterThanOrEqual(decimal.NewFromInt(100)) {
		released, payable, accrued = accrued, accrued, decimal.Zero
	}
	return pending, accrued, payable, released
}

// Released is what the whole close releases.
func (f Fixture) Released() decimal.Decimal {
	total := decimal.Zero
	for i := range f.N {
		_, _, _, r := f.Want(i)
		total = total.Add(r)
	}
	return total
}

// Lines is how many lines partner i's statement has: per order that
// accrued to it (its own, its children's), the accrual and, when it
// matured, the maturing's two legs; the release's two legs.
func (f Fixture) Lines(i int) int {
	n := 0
	for _, j := range []int{i, 2*i + 1, 2*i + 2} {
		if j < f.N {
			n++
			if f.matured(j) {
				n += 2
			}
		}
	}
	if _, _, _, released := f.Want(i); released.IsPositive() {
		n += 2
	}
	return n
}

// stated is a statement's checked fields.
type stated struct {
	partner, released, status, pending, accrued, payable string
	lines                                                int
}

// Check compares every statement of the fixture's period and every
// partner balance with the reference, and counts the releases posted
// (one per released partner, none twice). It returns the problems found,
// at most ten.
func (f Fixture) Check(ctx context.Context, q ledger.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT partner_id, released::text, status, body->'closing'->>'pending',
		body->'closing'->>'accrued', body->'closing'->>'payable', jsonb_array_length(body->'lines')
		FROM statements WHERE program_id = $1 AND period = $2 ORDER BY partner_id`, f.Program, f.Period())
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stated, error) {
		var s stated
		return s, r.Scan(&s.partner, &s.released, &s.status, &s.pending, &s.accrued, &s.payable, &s.lines)
	})
	if err != nil {
		return nil, err
	}
	if len(got) != f.N {
		return []string{fmt.Sprintf("%d statements, want %d", len(got), f.N)}, nil
	}
	bs, err := ledger.Balances(ctx, q, f.Program, nil, time.Time{})
	if err != nil {
		return nil, err
	}
	balances := map[string]decimal.Decimal{}
	for _, b := range bs {
		balances[b.Account] = b.Amount
	}
	var problems []string
	for i := 0; i < f.N && len(problems) < 10; i++ {
		problems = append(problems, f.checkPartner(i, got[i], balances)...)
	}
	return problems, f.checkReleases(ctx, q, &problems)
}

// checkPartner compares partner i's statement s and balances with the
// reference.
func (f Fixture) checkPartner(i int, s stated, balances map[string]decimal.Decimal) []string {
	var out []string
	pending, accrued, payable, released := f.Want(i)
	want := stated{f.Partner(i), released.StringFixed(2), affiliate.StatementStatus(released),
		pending.StringFixed(2), accrued.StringFixed(2), payable.StringFixed(2), f.Lines(i)}
	if s != want {
		out = append(out, fmt.Sprintf("statement %d: got %+v, want %+v", i, s, want))
	}
	for kind, d := range map[string]decimal.Decimal{affiliate.Pending: pending, affiliate.Accrued: accrued, affiliate.Payable: payable} {
		if b := balances[affiliate.PartnerAccount(f.Partner(i), kind)]; !b.Equal(d) {
			out = append(out, fmt.Sprintf("balance of %s %s: %s, want %s", f.Partner(i), kind, b, d))
		}
	}
	return out
}

// checkReleases adds a problem unless the period has exactly one release
// transaction per released partner.
func (f Fixture) checkReleases(ctx context.Context, q ledger.Querier, problems *[]string) error {
	want := 0
	for i := range f.N {
		if _, _, _, r := f.Want(i); r.IsPositive() {
			want++
		}
	}
	var got, partners int
	err := q.QueryRow(ctx, `SELECT count(*), count(DISTINCT refs->>'partner') FROM transactions
		WHERE program_id = $1 AND kind = $2 AND period = $3`, f.Program, affiliate.KindRelease, f.Period()).Scan(&got, &partners)
	if err != nil {
		return err
	}
	if got != want || partners != want {
		*problems = append(*problems, fmt.Sprintf("%d releases for %d partners, want %d", got, partners, want))
	}
	return nil
}
