package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// SpendCredit lets a partner pay for its own order with its earnings:
// payable first, then accrued (only while positive), Cr
// platform:store_credit_redeemed. No minimum applies. A spend id is used
// once.
func (s *payoutService) SpendCredit(ctx context.Context, req *connect.Request[accruev1.SpendCreditRequest]) (*connect.Response[accruev1.SpendCreditResponse], error) {
	m := req.Msg
	if err := checkRef("spend", m.GetSpend()); err != nil {
		return nil, err
	}
	switch {
	case m.GetPartner() == "":
		return nil, fault.InvalidArgument("partner", "required")
	case m.GetAmount() == "":
		return nil, fault.InvalidArgument("amount", "required")
	}
	if err := checkOptionalRef("order", m.GetOrder()); err != nil {
		return nil, err
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.SpendCredit(ctx, commandOf(m), service.SpendCreditInput{
		Spend: m.GetSpend(), Partner: m.GetPartner(), Order: m.GetOrder(), Amount: m.GetAmount(), At: at,
	}, func(r service.SpendResult) ([]byte, error) {
		return encodeProto(&accruev1.SpendCreditResponse{Spend: spendProto(r.Spend, r.Scale)})
	})
	resp := &accruev1.SpendCreditResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// ReverseSpend returns a spend to the accounts it came from, once.
func (s *payoutService) ReverseSpend(ctx context.Context, req *connect.Request[accruev1.ReverseSpendRequest]) (*connect.Response[accruev1.ReverseSpendResponse], error) {
	m := req.Msg
	if err := checkRef("spend", m.GetSpend()); err != nil {
		return nil, err
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.ReverseSpend(ctx, commandOf(m), service.ReverseSpendInput{Spend: m.GetSpend(), At: at},
		func(r service.SpendResult) ([]byte, error) {
			return encodeProto(&accruev1.ReverseSpendResponse{Spend: spendProto(r.Spend, r.Scale)})
		})
	resp := &accruev1.ReverseSpendResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// spendProto renders a spend.
func spendProto(sp store.Spend, scale int32) *accruev1.Spend {
	return &accruev1.Spend{
		Id: sp.ID, Partner: sp.Partner, Amount: sp.Amount.StringFixed(scale), Order: sp.Order,
		FromPayable: sp.FromPayable.StringFixed(scale), FromAccrued: sp.FromAccrued.StringFixed(scale),
		Reversed: sp.Reversed, At: stamp(sp.At),
	}
}
