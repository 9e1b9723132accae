package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// payoutService implements accruev1connect.PayoutServiceHandler (SPEC §8).
type payoutService struct{ *Server }

// CreatePayout moves an amount (default: the whole payable balance) from
// payable to in_payout; more than payable only with allow_advance. A payout
// id is used once.
func (s *payoutService) CreatePayout(ctx context.Context, req *connect.Request[accruev1.CreatePayoutRequest]) (*connect.Response[accruev1.CreatePayoutResponse], error) {
	m := req.Msg
	if err := checkRef("payout", m.GetPayout()); err != nil {
		return nil, err
	}
	if m.GetPartner() == "" {
		return nil, fault.InvalidArgument("partner", "required")
	}
	if err := checkOptionalRef("method", m.GetMethod()); err != nil {
		return nil, err
	}
	if err := checkOptionalRef("reference", m.GetReference()); err != nil {
		return nil, err
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.CreatePayout(ctx, commandOf(m), service.CreatePayoutInput{
		Payout: m.GetPayout(), Partner: m.GetPartner(), Amount: m.GetAmount(), AllowAdvance: m.GetAllowAdvance(),
		Method: m.GetMethod(), Reference: m.GetReference(), At: at,
	}, func(r service.PayoutResult) ([]byte, error) {
		return encodeProto(&accruev1.CreatePayoutResponse{Payout: payoutProto(r.Payout, r.Scale, false)})
	})
	resp := &accruev1.CreatePayoutResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// unmarshalReply decodes a command's reply (fresh or replayed: the same
// bytes) into resp, unless the command failed with err.
func unmarshalReply(reply service.Reply, err error, resp proto.Message) error {
	if err != nil {
		return err
	}
	return proto.Unmarshal(reply.Body, resp)
}

// SettlePayout records that a pending payout reached the partner:
// Dr in_payout / Cr platform:payout_clearing.
func (s *payoutService) SettlePayout(ctx context.Context, req *connect.Request[accruev1.SettlePayoutRequest]) (*connect.Response[accruev1.SettlePayoutResponse], error) {
	m := req.Msg
	in, err := s.finishPayoutInput(m, m.GetPayout(), m.GetReference(), "")
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.SettlePayout(ctx, commandOf(m), in, func(r service.PayoutResult) ([]byte, error) {
		return encodeProto(&accruev1.SettlePayoutResponse{Payout: payoutProto(r.Payout, r.Scale, false)})
	})
	resp := &accruev1.SettlePayoutResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// FailPayout returns a pending payout to payable: Dr in_payout / Cr payable.
func (s *payoutService) FailPayout(ctx context.Context, req *connect.Request[accruev1.FailPayoutRequest]) (*connect.Response[accruev1.FailPayoutResponse], error) {
	m := req.Msg
	in, err := s.finishPayoutInput(m, m.GetPayout(), "", m.GetReason())
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.FailPayout(ctx, commandOf(m), in, func(r service.PayoutResult) ([]byte, error) {
		return encodeProto(&accruev1.FailPayoutResponse{Payout: payoutProto(r.Payout, r.Scale, false)})
	})
	resp := &accruev1.FailPayoutResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// finishPayoutInput validates the wire fields of a settle or fail command
// req and reads its time.
func (s *payoutService) finishPayoutInput(req postingCommand, id, reference, reason string) (service.FinishPayoutInput, error) {
	if err := checkRef("payout", id); err != nil {
		return service.FinishPayoutInput{}, err
	}
	if err := checkOptionalRef("reference", reference); err != nil {
		return service.FinishPayoutInput{}, err
	}
	at, err := s.at(req.GetAt())
	if err != nil {
		return service.FinishPayoutInput{}, err
	}
	return service.FinishPayoutInput{Payout: id, Reference: reference, Reason: reason, At: at}, nil
}

// ListPayouts returns a program's payouts (one partner's when given), oldest
// first; bank details only with include_private.
func (s *payoutService) ListPayouts(ctx context.Context, req *connect.Request[accruev1.ListPayoutsRequest]) (*connect.Response[accruev1.ListPayoutsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	journal, err := s.svc.Program(ctx, m.GetProgram())
	if err != nil {
		return nil, err
	}
	pg, err := readPage(m, 2)
	if err != nil {
		return nil, err
	}
	// The keyset is (created_at, id); the first page starts before any time.
	f := store.PayoutFilter{Partner: m.GetPartner(), Limit: pg.limit}
	if pg.after != nil {
		if f.AfterAt, err = time.Parse(time.RFC3339Nano, pg.after[0]); err != nil {
			return nil, fault.InvalidArgument("page_token", "malformed")
		}
		f.AfterID = pg.after[1]
	}
	pos, err := s.svc.Payouts(ctx, journal, f)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListPayoutsResponse{}
	for _, po := range pos {
		resp.Payouts = append(resp.Payouts, payoutProto(po, journal.Scale, m.GetIncludePrivate()))
	}
	if len(pos) == f.Limit {
		last := pos[len(pos)-1]
		resp.NextPageToken = pg.nextToken(m, last.CreatedAt.UTC().Format(time.RFC3339Nano), last.ID)
	}
	return connect.NewResponse(resp), nil
}

var payoutStatuses = map[string]accruev1.PayoutStatus{
	affiliate.PayoutPending: accruev1.PayoutStatus_PAYOUT_STATUS_PENDING,
	affiliate.PayoutSettled: accruev1.PayoutStatus_PAYOUT_STATUS_SETTLED,
	affiliate.PayoutFailed:  accruev1.PayoutStatus_PAYOUT_STATUS_FAILED,
}

// payoutProto renders a payout; bank details only when private.
func payoutProto(po store.Payout, scale int32, private bool) *accruev1.Payout {
	out := &accruev1.Payout{
		Id: po.ID, Partner: po.Partner, Amount: po.Amount.StringFixed(scale),
		Status: payoutStatuses[po.Status], Method: po.Method, Reference: po.Reference,
		Advance: po.Advance, CreatedAt: stamp(po.CreatedAt),
	}
	if po.Status == affiliate.PayoutSettled && po.FinishedAt != nil {
		out.SettledAt = stamp(*po.FinishedAt)
	}
	if private {
		out.BankAccount, out.BankName = po.Bank["bank_account"], po.Bank["bank_name"]
	}
	return out
}
