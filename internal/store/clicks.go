package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// Click is a visitor's click on a partner's link.
type Click struct {
	Partner, Visitor                                   string
	At                                                 time.Time
	Landing, Banner, UTMSource, UTMMedium, UTMCampaign string
}

// InsertClick records a click and returns its id.
func InsertClick(ctx context.Context, q ledger.Querier, program string, c Click) (int64, error) {
	var id int64
	if err := q.QueryRow(ctx, `INSERT INTO clicks (program_id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		program, c.Partner, c.Visitor, c.At, c.Landing, c.Banner, c.UTMSource, c.UTMMedium, c.UTMCampaign).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: recording click: %w", err)
	}
	return id, nil
}

// ClickOf returns the last click (the first when first) at or after from
// and at or before to of visitor or of any visitor tied to customer;
// found is false when there is none.
func ClickOf(ctx context.Context, q ledger.Querier, program, visitor, customer string, from, to time.Time, first bool) (id int64, partner string, found bool, err error) {
	order := "DESC"
	if first {
		order = "ASC"
	}
	err = q.QueryRow(ctx, `SELECT id, partner_id FROM clicks
		WHERE program_id = $1 AND at <= $4 AND at >= $5
		  AND (visitor = $2 OR visitor IN (SELECT visitor FROM customer_visitors WHERE program_id = $1 AND customer = $3))
		ORDER BY at `+order+`, id `+order+` LIMIT 1`,
		program, visitor, customer, to, from).Scan(&id, &partner)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("store: finding clicks: %w", err)
	}
	return id, partner, true, nil
}

// ClickStat counts a partner's clicks of one UTM source in one month (a
// local month start): clicks and distinct visitors.
type ClickStat struct {
	Partner, Source  string
	Month            time.Time
	Clicks, Visitors int64
}

// ClickStats counts the filtered clicks by partner, source and month, in
// one grouped query.
func ClickStats(ctx context.Context, q ledger.Querier, f ledger.StatsFilter) ([]ClickStat, error) {
	rows, err := q.Query(ctx, `SELECT partner_id, utm_source, date_trunc('month', timezone($3, at)), count(*), count(DISTINCT visitor)
		FROM clicks WHERE program_id = $1 AND `+ledger.StatsWhere("partner_id", "at")+` GROUP BY 1, 2, 3`, f.Args()...)
	if err != nil {
		return nil, fmt.Errorf("store: computing click stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ClickStat, error) {
		var s ClickStat
		return s, row.Scan(&s.Partner, &s.Source, &s.Month, &s.Clicks, &s.Visitors)
	})
	if err != nil {
		return nil, fmt.Errorf("store: computing click stats: %w", err)
	}
	return out, nil
}

// OrderStat counts a partner's attributed orders of one UTM source (its
// click's, "" for one attributed by code) paid in one month: the orders
// and their revenue (lines and shipping).
type OrderStat struct {
	Partner, Source string
	Month           time.Time
	Orders          int64
	Revenue         decimal.Decimal
}

// OrderStats counts the filtered attributed orders by partner, source and
// month paid, in one grouped query.
func OrderStats(ctx context.Context, q ledger.Querier, f ledger.StatsFilter) ([]OrderStat, error) {
	rows, err := q.Query(ctx, `SELECT o.partner_id, COALESCE(c.utm_source, ''), date_trunc('month', timezone($3, o.paid_at)), count(*),
			sum(o.shipping + COALESCE((SELECT sum((l ->> 'amount')::numeric) FROM jsonb_array_elements(o.lines) l), 0))::text
		FROM orders o LEFT JOIN clicks c ON c.id = o.click_id
		WHERE o.program_id = $1 AND o.partner_id <> '' AND `+ledger.StatsWhere("o.partner_id", "o.paid_at")+`
		GROUP BY 1, 2, 3`, f.Args()...)
	if err != nil {
		return nil, fmt.Errorf("store: computing order stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OrderStat, error) {
		var (
			s       OrderStat
			revenue string
		)
		if err := row.Scan(&s.Partner, &s.Source, &s.Month, &s.Orders, &revenue); err != nil {
			return s, err
		}
		s.Revenue, err = decimal.NewFromString(revenue)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: computing order stats: %w", err)
	}
	return out, nil
}
