package server

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
)

// ListReferrals lists the partners below one, breadth first, down to
// max_depth levels (at most MaxReferralDepth), as linked now.
func (s *partnerService) ListReferrals(ctx context.Context, req *connect.Request[accruev1.ListReferralsRequest]) (*connect.Response[accruev1.ListReferralsResponse], error) {
	m := req.Msg
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	// The keyset position is an offset into the walk's order.
	offset, err := pg.afterID()
	if err != nil {
		return nil, err
	}
	if _, err := loadPartner(ctx, s.db.Pool, m.GetProgram(), m.GetPartner(), "partner", false); err != nil {
		return nil, err
	}
	depth := int(m.GetMaxDepth())
	if depth <= 0 || depth > MaxReferralDepth {
		depth = MaxReferralDepth
	}
	limit := pg.limit
	now := s.clock.Now()
	var all []*accruev1.Referral
	frontier := []string{m.GetPartner()}
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		rows, err := s.db.Pool.Query(ctx, `SELECT l.partner_id, l.parent_id, p.status FROM partner_links l
			JOIN partners p ON p.program_id = l.program_id AND p.id = l.partner_id
			WHERE l.program_id = $1 AND l.parent_id = ANY($2) AND l.valid_from <= $3 AND (l.valid_until IS NULL OR $3 < l.valid_until)
			ORDER BY l.partner_id`, m.GetProgram(), frontier, now)
		if err != nil {
			return nil, fmt.Errorf("server: listing referrals: %w", err)
		}
		frontier = nil
		for rows.Next() {
			r := &accruev1.Referral{Depth: int32(d), Status: accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE}
			var status string
			if err := rows.Scan(&r.Partner, &r.Parent, &status); err != nil {
				rows.Close()
				return nil, fmt.Errorf("server: scanning referral: %w", err)
			}
			if status == "suspended" {
				r.Status = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
			}
			all, frontier = append(all, r), append(frontier, r.Partner)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("server: listing referrals: %w", err)
		}
		if len(all) > int(offset)+limit+1 {
			break
		}
	}
	resp := &accruev1.ListReferralsResponse{}
	if int(offset) < len(all) {
		end := min(len(all), int(offset)+limit)
		resp.Referrals = all[offset:end]
		if end < len(all) {
			resp.NextPageToken = pg.nextToken(m, strconv.Itoa(end))
		}
	}
	return connect.NewResponse(resp), nil
}

// GetReferralLink builds a landing URL carrying the partner's referral code
// and the given UTM parameters.
func (s *partnerService) GetReferralLink(ctx context.Context, req *connect.Request[accruev1.GetReferralLinkRequest]) (*connect.Response[accruev1.GetReferralLinkResponse], error) {
	m := req.Msg
	p, err := loadPartner(ctx, s.db.Pool, m.GetProgram(), m.GetPartner(), "partner", false)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(m.GetLanding())
	if err != nil || m.GetLanding() == "" || !strings.HasPrefix(u.Scheme, "http") {
		return nil, fault.Invalid("landing", "want an http(s) URL, got %q", m.GetLanding())
	}
	q := u.Query()
	q.Set("ref", p.Code)
	for k, v := range map[string]string{"utm_source": m.GetUtmSource(), "utm_medium": m.GetUtmMedium(), "utm_campaign": m.GetUtmCampaign()} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return connect.NewResponse(&accruev1.GetReferralLinkResponse{Url: u.String(), Code: p.Code}), nil
}
