package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// trackingService serves accrue.v1.TrackingService.
type trackingService struct{ *Server }

// Limits on click fields.
const (
	MaxVisitorLen = 128
	MaxClickField = 512
)

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
		return tx.QueryRow(ctx, `INSERT INTO clicks (program_id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			m.GetProgram(), partnerID, m.GetVisitor(), at, m.GetLanding(), m.GetBanner(),
			m.GetUtmSource(), m.GetUtmMedium(), m.GetUtmCampaign()).Scan(&resp.ClickId)
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// partnerByCodeOrID resolves a referral code (first) or a partner id; ""
// when neither matches.
func partnerByCodeOrID(ctx context.Context, q querier, program, codeOrID string) (string, error) {
	if codeOrID == "" {
		return "", nil
	}
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND (code = $2 OR id = $2)
		ORDER BY (code = $2) DESC LIMIT 1`, program, codeOrID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("server: resolving partner %q: %w", codeOrID, err)
	}
	return id, nil
}

// attribution is who an order is attributed to, and how.
type attribution struct {
	partner string
	how     string // "partner_code", "last_click", "first_click" or ""
	clickID int64
}

// attribute finds an order's partner (SPEC §5): an explicit partner code,
// else the last (or first) click of the order's visitor or of any visitor
// tied to its customer within the window before at.
func attribute(ctx context.Context, q querier, program string, prog *rules.Program, code, visitor, customer string, at time.Time) (attribution, error) {
	if code != "" {
		var id string
		err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND code = $2`, program, code).Scan(&id)
		if err == nil {
			return attribution{partner: id, how: "partner_code"}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return attribution{}, fmt.Errorf("server: resolving partner code: %w", err)
		}
	}
	order := "DESC"
	how := "last_click"
	if prog.Attribution.Model == rules.ModelFirstClick {
		order, how = "ASC", "first_click"
	}
	var a attribution
	err := q.QueryRow(ctx, `SELECT id, partner_id FROM clicks
		WHERE program_id = $1 AND at <= $4 AND at >= $5
		  AND (visitor = $2 OR visitor IN (SELECT visitor FROM customer_visitors WHERE program_id = $1 AND customer = $3))
		ORDER BY at `+order+`, id `+order+` LIMIT 1`,
		program, visitor, customer, at, at.Add(-prog.Attribution.Window)).Scan(&a.clickID, &a.partner)
	if errors.Is(err, pgx.ErrNoRows) {
		return attribution{}, nil
	}
	if err != nil {
		return attribution{}, fmt.Errorf("server: finding clicks: %w", err)
	}
	a.how = how
	return a, nil
}

func (s *trackingService) GetStats(ctx context.Context, req *connect.Request[accruev1.GetStatsRequest]) (*connect.Response[accruev1.GetStatsResponse], error) {
	m := req.Msg
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, m.GetProgram())
	if err != nil {
		return nil, err
	}
	from, to := m.GetFromMonth(), m.GetToMonth()
	if to == "" {
		to = "9999-12"
	}
	rows, err := s.db.Pool.Query(ctx, `
		WITH c AS (
			SELECT partner_id, utm_source, to_char(at AT TIME ZONE $3, 'YYYY-MM') AS month, visitor FROM clicks
			WHERE program_id = $1 AND ($2 = '' OR partner_id = $2)),
		o AS (
			SELECT o.partner_id, COALESCE(c.utm_source, '') AS utm_source, to_char(o.paid_at AT TIME ZONE $3, 'YYYY-MM') AS month,
				o.lines, o.shipping, o.state
			FROM orders o LEFT JOIN clicks c ON c.id = o.click_id
			WHERE o.program_id = $1 AND o.partner_id <> '' AND ($2 = '' OR o.partner_id = $2)),
		keys AS (SELECT partner_id, utm_source, month FROM c UNION SELECT partner_id, utm_source, month FROM o)
		SELECT k.partner_id, k.utm_source, k.month,
			(SELECT count(*) FROM c WHERE c.partner_id = k.partner_id AND c.utm_source = k.utm_source AND c.month = k.month),
			(SELECT count(DISTINCT visitor) FROM c WHERE c.partner_id = k.partner_id AND c.utm_source = k.utm_source AND c.month = k.month),
			(SELECT count(*) FROM o WHERE o.partner_id = k.partner_id AND o.utm_source = k.utm_source AND o.month = k.month),
			(SELECT COALESCE(sum(o.shipping + (SELECT COALESCE(sum((l->>'amount')::numeric), 0) FROM jsonb_array_elements(o.lines) l)), 0)::text
				FROM o WHERE o.partner_id = k.partner_id AND o.utm_source = k.utm_source AND o.month = k.month)
		FROM keys k WHERE k.month >= $4 AND k.month <= $5 ORDER BY 1, 3, 2`,
		prog.ID, m.GetPartner(), prog.Location.String(), from, to)
	if err != nil {
		return nil, fmt.Errorf("server: computing stats: %w", err)
	}
	defer rows.Close()
	resp := &accruev1.GetStatsResponse{}
	for rows.Next() {
		r := &accruev1.StatsRow{}
		var revenue string
		if err := rows.Scan(&r.Partner, &r.UtmSource, &r.Month, &r.Clicks, &r.UniqueVisitors, &r.Orders, &revenue); err != nil {
			return nil, fmt.Errorf("server: scanning stats: %w", err)
		}
		r.Revenue = decimal.RequireFromString(revenue).StringFixed(prog.Scale)
		r.ConversionRate = "0"
		if r.UniqueVisitors > 0 {
			r.ConversionRate = decimal.NewFromInt(r.Orders).DivRound(decimal.NewFromInt(r.UniqueVisitors), 4).String()
		}
		resp.Rows = append(resp.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.fillCommission(ctx, prog, m, resp.Rows); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// fillCommission adds the commission posted for each stats row's orders,
// from the journal.
func (s *trackingService) fillCommission(ctx context.Context, prog *ledger.Program, m *accruev1.GetStatsRequest, rows []*accruev1.StatsRow) error {
	for _, r := range rows {
		var sum string
		err := s.db.Pool.QueryRow(ctx, `
			SELECT COALESCE(-sum(e.amount), 0)::text FROM orders o
			LEFT JOIN clicks c ON c.id = o.click_id
			JOIN transactions t ON t.program_id = o.program_id AND t.refs ->> 'order' = o.id
			JOIN entries e ON e.transaction_id = t.id
			JOIN accounts a ON a.id = e.account_id AND a.code IN ($3 || 'pending', $3 || 'accrued')
			WHERE o.program_id = $1 AND o.partner_id = $2 AND COALESCE(c.utm_source, '') = $4
			  AND to_char(o.paid_at AT TIME ZONE $5, 'YYYY-MM') = $6 AND t.kind IN ('order.accrual', 'order.adjustment')`,
			prog.ID, r.Partner, "partner:"+r.Partner+":", r.UtmSource, prog.Location.String(), r.Month).Scan(&sum)
		if err != nil {
			return fmt.Errorf("server: summing commission: %w", err)
		}
		r.Commission = decimal.RequireFromString(sum).StringFixed(prog.Scale)
	}
	return nil
}
