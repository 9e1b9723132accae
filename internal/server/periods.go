package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// periodService implements accruev1connect.PeriodServiceHandler.
type periodService struct{ *Server }

// ClosePeriod closes a period that has ended, and every earlier one still
// open; closing a closed period changes nothing (service.ClosePeriod).
func (s *periodService) ClosePeriod(ctx context.Context, req *connect.Request[accruev1.ClosePeriodRequest]) (*connect.Response[accruev1.ClosePeriodResponse], error) {
	reply, err := s.svc.ClosePeriod(ctx, commandOf(req.Msg), req.Msg.GetPeriod(), func(c service.Closed) ([]byte, error) {
		return encodeProto(closedToProto(c))
	})
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ClosePeriodResponse{}
	if err := proto.Unmarshal(reply.Body, resp); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

func closedToProto(c service.Closed) *accruev1.ClosePeriodResponse {
	return &accruev1.ClosePeriodResponse{
		Period: c.Period, Statements: c.Statements, AlreadyClosed: c.AlreadyClosed, Released: c.Released.StringFixed(c.Scale),
	}
}

// GetPeriod reads a period's status and the progress of its close
// (service.GetPeriod).
func (s *periodService) GetPeriod(ctx context.Context, req *connect.Request[accruev1.GetPeriodRequest]) (*connect.Response[accruev1.GetPeriodResponse], error) {
	p, err := s.svc.GetPeriod(ctx, req.Msg.GetProgram(), req.Msg.GetPeriod())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetPeriodResponse{Period: periodToProto(p)}), nil
}

// periodStatus maps service period statuses to the API's.
var periodStatus = map[string]accruev1.PeriodStatus{
	service.PeriodOpen:    accruev1.PeriodStatus_PERIOD_STATUS_OPEN,
	service.PeriodClosing: accruev1.PeriodStatus_PERIOD_STATUS_CLOSING,
	service.PeriodClosed:  accruev1.PeriodStatus_PERIOD_STATUS_CLOSED,
}

func periodToProto(p service.Period) *accruev1.PeriodState {
	out := &accruev1.PeriodState{
		Period: p.Period, Status: periodStatus[p.Status], PartnersDone: p.PartnersDone, PartnersTotal: p.Total,
		Statements: p.Statements, Released: p.Released.StringFixed(p.Scale),
	}
	if p.StartedAt != nil {
		out.StartedAt = stamp(*p.StartedAt)
	}
	if p.ClosedAt != nil {
		out.ClosedAt = stamp(*p.ClosedAt)
	}
	if p.Status == service.PeriodClosing {
		out.ClaimedBy, out.ClaimedUntil = p.ClaimedBy, stamp(p.ClaimedUntil)
	}
	return out
}
