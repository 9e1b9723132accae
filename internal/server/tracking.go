package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
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
	click, err := s.clickOf(m)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.RecordClick(ctx, commandOf(m), service.NewClick{Program: m.GetProgram(), Click: click}, encodeClick)
	if err != nil {
		return nil, err
	}
	resp, err := clickResponse(reply)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// clickOf validates a click's fields and returns it, its partner the
// request's code or id.
func (s *trackingService) clickOf(m *accruev1.RecordClickRequest) (store.Click, error) {
	at, err := s.at(m.GetAt())
	if err != nil {
		return store.Click{}, err
	}
	if m.GetVisitor() == "" || len(m.GetVisitor()) > VisitorLenMax {
		return store.Click{}, fault.InvalidArgument("visitor", "required, at most %d characters", VisitorLenMax)
	}
	for field, v := range map[string]string{"landing": m.GetLanding(), "banner": m.GetBanner(), "utm_source": m.GetUtmSource(),
		"utm_medium": m.GetUtmMedium(), "utm_campaign": m.GetUtmCampaign()} {
		if len(v) > ClickFieldLenMax {
			return store.Click{}, fault.InvalidArgument(field, "at most %d characters", ClickFieldLenMax)
		}
	}
	return store.Click{
		Partner: m.GetPartner(), Visitor: m.GetVisitor(), At: at, Landing: m.GetLanding(), Banner: m.GetBanner(),
		UTMSource: m.GetUtmSource(), UTMMedium: m.GetUtmMedium(), UTMCampaign: m.GetUtmCampaign(),
	}, nil
}

// encodeClick is the response stored under a click's key, by RecordClick
// and RecordClicks alike.
func encodeClick(c service.RecordedClick) ([]byte, error) {
	return encodeProto(&accruev1.RecordClickResponse{Partner: c.Partner, ClickId: c.ID})
}

// clickResponse decodes a click's stored response.
func clickResponse(reply service.Reply) (*accruev1.RecordClickResponse, error) {
	resp := &accruev1.RecordClickResponse{}
	if err := proto.Unmarshal(reply.Body, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return resp, nil
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
