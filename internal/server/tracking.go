package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
)

// trackingService serves accrue.v1.TrackingService.
type trackingService struct{ *Server }

// Limits on click fields.
const (
	MaxVisitorLen = 128
	MaxClickField = 512
)

// RecordClick records a visitor's click on a partner's link (by referral
// code or partner id), which later orders of the visitor may be attributed
// to.
func (s *trackingService) RecordClick(ctx context.Context, req *connect.Request[accruev1.RecordClickRequest]) (*connect.Response[accruev1.RecordClickResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	if m.GetVisitor() == "" || len(m.GetVisitor()) > MaxVisitorLen {
		return nil, fault.Invalid("visitor", "required, at most %d characters", MaxVisitorLen)
	}
	for field, v := range map[string]string{"landing": m.GetLanding(), "banner": m.GetBanner(), "utm_source": m.GetUtmSource(),
		"utm_medium": m.GetUtmMedium(), "utm_campaign": m.GetUtmCampaign()} {
		if len(v) > MaxClickField {
			return nil, fault.Invalid(field, "at most %d characters", MaxClickField)
		}
	}
	resp := &accruev1.RecordClickResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, _ []byte) error {
		if _, err := ledger.LoadProgram(ctx, tx, m.GetProgram()); err != nil {
			return err
		}
		partnerID, err := partnerByCodeOrID(ctx, tx, m.GetProgram(), m.GetPartner())
		if err != nil {
			return err
		}
		if partnerID == "" {
			return fault.Missing("partner", "no partner with code or id %q", m.GetPartner())
		}
		resp.Partner = partnerID
		if err := tx.QueryRow(ctx, `INSERT INTO clicks (program_id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			m.GetProgram(), partnerID, m.GetVisitor(), at, m.GetLanding(), m.GetBanner(),
			m.GetUtmSource(), m.GetUtmMedium(), m.GetUtmCampaign()).Scan(&resp.ClickId); err != nil {
			return fmt.Errorf("server: recording click: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// codeKey is a referral code folded to lower case, as the unique index
// partners_code_lower holds it: codes are unique and matched
// case-insensitively (SPEC §5). ok is false for a string that no code can
// equal (codes are URL-safe ASCII, see checkID), which then matches no
// partner without Unicode case folding making it equal to one.
func codeKey(s string) (key string, ok bool) {
	if checkID("code", s, MaxCodeLen) != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

// partnerByCodeOrID resolves a referral code (first, in any case) or a
// partner id (exactly); "" when neither matches.
func partnerByCodeOrID(ctx context.Context, q querier, program, codeOrID string) (string, error) {
	if codeOrID == "" {
		return "", nil
	}
	key, _ := codeKey(codeOrID) // "" matches no code
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND (lower(code) = $2 OR id = $3)
		ORDER BY (lower(code) = $2) DESC LIMIT 1`, program, key, codeOrID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("server: resolving partner %q: %w", codeOrID, err)
	}
	return id, nil
}

// statsKey is one row of the statistics: partner × UTM source × month.
type statsKey struct {
	partner, source, month string
}

// statsQueries aggregate clicks, attributed orders and posted commission by
// partner, UTM source and month in the program's time zone ($3). An order's
// source is its click's; an order attributed by code has source "".
const (
	statsClicks = `SELECT partner_id, utm_source, date_trunc('month', timezone($3, at)), count(*), count(DISTINCT visitor)
		FROM clicks WHERE program_id = $1 AND ($2 = '' OR partner_id = $2) GROUP BY 1, 2, 3`
	statsOrders = `SELECT o.partner_id, COALESCE(c.utm_source, ''), date_trunc('month', timezone($3, o.paid_at)), count(*),
			sum(o.shipping + COALESCE((SELECT sum((l ->> 'amount')::numeric) FROM jsonb_array_elements(o.lines) l), 0))::text
		FROM orders o LEFT JOIN clicks c ON c.id = o.click_id
		WHERE o.program_id = $1 AND o.partner_id <> '' AND ($2 = '' OR o.partner_id = $2) GROUP BY 1, 2, 3`
	statsCommission = `SELECT o.partner_id, COALESCE(c.utm_source, ''), date_trunc('month', timezone($3, o.paid_at)), (-sum(e.amount))::text
		FROM orders o LEFT JOIN clicks c ON c.id = o.click_id
		JOIN transactions t ON t.program_id = o.program_id AND t.refs ->> 'order' = o.id AND t.kind IN ('order.accrual', 'order.adjustment')
		JOIN entries e ON e.transaction_id = t.id
		JOIN accounts a ON a.id = e.account_id AND a.code IN ('partner:' || o.partner_id || ':pending', 'partner:' || o.partner_id || ':accrued')
		WHERE o.program_id = $1 AND o.partner_id <> '' AND ($2 = '' OR o.partner_id = $2) GROUP BY 1, 2, 3`
)

// GetStats reports, per partner × UTM source × month: clicks, unique
// visitors, attributed orders, their revenue, the direct commission posted
// for them, and the conversion rate (orders per unique visitor).
func (s *trackingService) GetStats(ctx context.Context, req *connect.Request[accruev1.GetStatsRequest]) (*connect.Response[accruev1.GetStatsResponse], error) {
	m := req.Msg
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, m.GetProgram())
	if err != nil {
		return nil, err
	}
	rows := map[statsKey]*accruev1.StatsRow{}
	row := func(k statsKey) *accruev1.StatsRow {
		if r, ok := rows[k]; ok {
			return r
		}
		r := &accruev1.StatsRow{Partner: k.partner, UtmSource: k.source, Month: k.month}
		rows[k] = r
		return r
	}
	args := []any{prog.ID, m.GetPartner(), prog.Location.String()}
	err = s.aggregate(ctx, statsClicks, args, func(k statsKey, vals []any) {
		r := row(k)
		r.Clicks, r.UniqueVisitors = *vals[0].(*int64), *vals[1].(*int64)
	}, new(int64), new(int64))
	if err == nil {
		err = s.aggregate(ctx, statsOrders, args, func(k statsKey, vals []any) {
			r := row(k)
			r.Orders, r.Revenue = *vals[0].(*int64), decimal.RequireFromString(*vals[1].(*string)).StringFixed(prog.Scale)
		}, new(int64), new(string))
	}
	if err == nil {
		err = s.aggregate(ctx, statsCommission, args, func(k statsKey, vals []any) {
			row(k).Commission = decimal.RequireFromString(*vals[0].(*string)).StringFixed(prog.Scale)
		}, new(string))
	}
	if err != nil {
		return nil, err
	}
	resp := &accruev1.GetStatsResponse{}
	zero := decimal.Zero.StringFixed(prog.Scale)
	for _, r := range rows {
		if (m.GetFromMonth() != "" && r.Month < m.GetFromMonth()) || (m.GetToMonth() != "" && r.Month > m.GetToMonth()) {
			continue
		}
		if r.Revenue == "" {
			r.Revenue = zero
		}
		if r.Commission == "" {
			r.Commission = zero
		}
		r.ConversionRate = "0"
		if r.UniqueVisitors > 0 {
			r.ConversionRate = decimal.NewFromInt(r.Orders).DivRound(decimal.NewFromInt(r.UniqueVisitors), 4).String()
		}
		resp.Rows = append(resp.Rows, r)
	}
	slices.SortFunc(resp.Rows, func(a, b *accruev1.StatsRow) int {
		return cmp.Or(cmp.Compare(a.Partner, b.Partner), cmp.Compare(a.Month, b.Month), cmp.Compare(a.UtmSource, b.UtmSource))
	})
	return connect.NewResponse(resp), nil
}

// aggregate runs one statistics query whose rows are (partner, source,
// month, vals...) and hands each to add.
func (s *trackingService) aggregate(ctx context.Context, sql string, args []any, add func(statsKey, []any), vals ...any) error {
	rows, err := s.db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("server: computing stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k     statsKey
			month time.Time
		)
		if err := rows.Scan(append([]any{&k.partner, &k.source, &month}, vals...)...); err != nil {
			return fmt.Errorf("server: scanning stats: %w", err)
		}
		k.month = month.Format("2006-01")
		add(k, vals)
	}
	return rows.Err()
}
