package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
)

// trackingService serves accrue.v1.TrackingService.
type trackingService struct{ *Server }

// Limits on click fields.
const (
	VisitorLenMax    = 128
	ClickFieldLenMax = 512
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
	if m.GetVisitor() == "" || len(m.GetVisitor()) > VisitorLenMax {
		return nil, fault.InvalidArgument("visitor", "required, at most %d characters", VisitorLenMax)
	}
	for field, v := range map[string]string{"landing": m.GetLanding(), "banner": m.GetBanner(), "utm_source": m.GetUtmSource(),
		"utm_medium": m.GetUtmMedium(), "utm_campaign": m.GetUtmCampaign()} {
		if len(v) > ClickFieldLenMax {
			return nil, fault.InvalidArgument(field, "at most %d characters", ClickFieldLenMax)
		}
	}
	in := service.NewClick{Program: m.GetProgram(), Click: store.Click{
		Partner: m.GetPartner(), Visitor: m.GetVisitor(), At: at, Landing: m.GetLanding(), Banner: m.GetBanner(),
		UTMSource: m.GetUtmSource(), UTMMedium: m.GetUtmMedium(), UTMCampaign: m.GetUtmCampaign(),
	}}
	reply, err := s.svc.RecordClick(ctx, commandOf(m), in, func(c service.RecordedClick) ([]byte, error) {
		return encodeProto(&accruev1.RecordClickResponse{Partner: c.Partner, ClickId: c.ID})
	})
	resp := &accruev1.RecordClickResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// GetStats reports, per partner × UTM source × month: clicks, unique
// visitors, attributed orders, their revenue, the direct commission posted
// for them, and the conversion rate (orders per unique visitor).
func (s *trackingService) GetStats(ctx context.Context, req *connect.Request[accruev1.GetStatsRequest]) (*connect.Response[accruev1.GetStatsResponse], error) {
	m := req.Msg
	st, err := s.svc.GetStats(ctx, service.StatsRequest{Program: m.GetProgram(), Partner: m.GetPartner(),
		FromMonth: m.GetFromMonth(), ToMonth: m.GetToMonth()})
	if err != nil {
		return nil, err
	}
	resp := &accruev1.GetStatsResponse{}
	for _, r := range st.Rows {
		resp.Rows = append(resp.Rows, &accruev1.StatsRow{
			Partner: r.Partner, UtmSource: r.Source, Month: r.Month, Clicks: r.Clicks, UniqueVisitors: r.UniqueVisitors,
			Orders: r.Orders, Revenue: r.Revenue.StringFixed(st.Scale), Commission: r.Commission.StringFixed(st.Scale),
			ConversionRate: r.ConversionRate.String(),
		})
	}
	return connect.NewResponse(resp), nil
}
