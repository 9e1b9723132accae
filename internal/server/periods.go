package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/service"
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
