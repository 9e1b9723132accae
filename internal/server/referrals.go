package server

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ListReferrals lists the partners below one, breadth first, down to
// max_depth levels (at most affiliate.ReferralDepthMax), as linked now. Its page
// token is the keyset position (depth, partner) of the last one listed.
func (s *partnerService) ListReferrals(ctx context.Context, req *connect.Request[accruev1.ListReferralsRequest]) (*connect.Response[accruev1.ListReferralsResponse], error) {
	m := req.Msg
	pg, err := readPage(m, 2)
	if err != nil {
		return nil, err
	}
	var after service.ReferralsAfter
	if pg.after != nil {
		depth, err := strconv.Atoi(pg.after[0])
		if err != nil || depth < 1 {
			return nil, fault.InvalidArgument("page_token", "malformed")
		}
		after = service.ReferralsAfter{Depth: depth, Partner: pg.after[1]}
	}
	refs, more, err := s.svc.ListReferrals(ctx, m.GetProgram(), m.GetPartner(), int(m.GetMaxDepth()), after, pg.limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Partner
	}
	income, scale, err := s.svc.UplineIncome(ctx, m.GetProgram(), m.GetPartner(), ids)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListReferralsResponse{}
	for _, r := range refs {
		out := referralToProto(r)
		out.UplineIncome = income[r.Partner].StringFixed(scale)
		resp.Referrals = append(resp.Referrals, out)
	}
	if more {
		last := refs[len(refs)-1]
		resp.NextPageToken = pg.nextToken(m, strconv.Itoa(last.Depth), last.Partner)
	}
	return connect.NewResponse(resp), nil
}

func referralToProto(r store.Referral) *accruev1.Referral {
	out := &accruev1.Referral{Partner: r.Partner, Parent: r.Parent, Depth: int32(r.Depth), Status: accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE,
		RegisteredAt: stamp(r.RegisteredAt)}
	if r.Status == affiliate.StatusSuspended {
		out.Status = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
	}
	return out
}

// GetReferralLink builds a landing URL carrying the partner's referral code
// and the given UTM parameters.
func (s *partnerService) GetReferralLink(ctx context.Context, req *connect.Request[accruev1.GetReferralLinkRequest]) (*connect.Response[accruev1.GetReferralLinkResponse], error) {
	m := req.Msg
	p, err := s.svc.PartnerRecord(ctx, m.GetProgram(), m.GetPartner())
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(m.GetLanding())
	if err != nil || m.GetLanding() == "" || !strings.HasPrefix(u.Scheme, "http") {
		return nil, fault.InvalidArgument("landing", "want an http(s) URL, got %q", m.GetLanding())
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
