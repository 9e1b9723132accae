package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// StatsFilter narrows the statistics of one program: to one partner when
// Partner is set, and to the months (in time zone Zone) whose local time
// is at or after From and before To, each when set (local wall times,
// their location ignored).
type StatsFilter struct {
	Program, Partner, Zone string
	From, To               *time.Time
}

// Args are the filter's query arguments $1..$5: program, partner, zone,
// from, to.
func (f StatsFilter) Args() []any { return []any{f.Program, f.Partner, f.Zone, f.From, f.To} }

// StatsWhere is the condition of f (Args) on a row of partner column
// partner at time column at.
func StatsWhere(partner, at string) string {
	return `($2 = '' OR ` + partner + ` = $2)
		AND ($4::timestamp IS NULL OR timezone($3, ` + at + `) >= $4::timestamp)
		AND ($5::timestamp IS NULL OR timezone($3, ` + at + `) < $5::timestamp)`
}

// CommissionStat is the direct commission posted for a partner's orders
// of one UTM source paid in one month (a local month start).
type CommissionStat struct {
	Partner, Source string
	Month           time.Time
	Amount          decimal.Decimal
}

// CommissionAccounts names the commission of an order in the journal: the
// kinds of the transactions that post it, referencing the order, and the
// partner's accounts they credit, as prefix + partner id + one of the
// suffixes.
type CommissionAccounts struct {
	Kinds    []string
	Prefix   string
	Suffixes []string
}

// CommissionStats sums, in one grouped query, the commission the journal
// credited for the filtered orders (by the orders and clicks tables: an
// order's source is its click's, "" for one attributed by code), by
// partner, source and month paid.
func CommissionStats(ctx context.Context, q Querier, f StatsFilter, c CommissionAccounts) ([]CommissionStat, error) {
	rows, err := q.Query(ctx, `SELECT o.partner_id, COALESCE(c.utm_source, ''), date_trunc('month', timezone($3, o.paid_at)), (-sum(e.amount))::text
		FROM orders o LEFT JOIN clicks c ON c.id = o.click_id
		JOIN transactions t ON t.program_id = o.program_id AND t.refs ->> 'order' = o.id AND t.kind = ANY($6::text[])
		JOIN entries e ON e.transaction_id = t.id
		CROSS JOIN unnest($8::text[]) AS k (suffix)
		JOIN accounts a ON a.id = e.account_id AND a.code = $7 || o.partner_id || k.suffix
		WHERE o.program_id = $1 AND o.partner_id <> '' AND `+StatsWhere("o.partner_id", "o.paid_at")+`
		GROUP BY 1, 2, 3`, append(f.Args(), c.Kinds, c.Prefix, c.Suffixes)...)
	if err != nil {
		return nil, fmt.Errorf("ledger: computing commission stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CommissionStat, error) {
		var (
			s      CommissionStat
			amount string
		)
		if err := row.Scan(&s.Partner, &s.Source, &s.Month, &amount); err != nil {
			return s, err
		}
		s.Amount, err = decimal.NewFromString(amount)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: computing commission stats: %w", err)
	}
	return out, nil
}
