package server

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// orderService serves accrue.v1.OrderService.
type orderService struct{ *Server }

// RefLenMax bounds order and customer ids and the other references a
// caller brings (payout and spend ids, payout methods and references).
const RefLenMax = 128

// partnerCodeLenMax bounds the partner code an order names. It is looser
// than affiliate.CodeLenMax: a code that matches no partner is not refused, the order
// falls back to click attribution.
const partnerCodeLenMax = affiliate.CodeLenMax * 4

// checkRef validates a required reference (an order, customer, payout or
// spend id).
func checkRef(field, v string) error {
	if v == "" || len(v) > RefLenMax {
		return fault.InvalidArgument(field, "required, at most %d characters", RefLenMax)
	}
	return nil
}

// checkOptionalRef validates a reference that may be empty.
func checkOptionalRef(field, v string) error {
	if len(v) > RefLenMax {
		return fault.InvalidArgument(field, "at most %d characters", RefLenMax)
	}
	return nil
}

// orderLines are an order's wire lines as the service reads them.
func orderLines(in []*accruev1.OrderLine) []service.OrderLine {
	out := make([]service.OrderLine, len(in))
	for i, l := range in {
		out[i] = service.OrderLine{Product: l.GetProduct(), Amount: l.GetAmount()}
	}
	return out
}

// PayOrder records a paid order (SPEC §5): it attributes the order to a
// partner (partner code, else a click of its visitor or customer) and, when
// the rules accrue on payment and the partner may earn on it, posts the
// accrual.
func (s *orderService) PayOrder(ctx context.Context, req *connect.Request[accruev1.PayOrderRequest]) (*connect.Response[accruev1.PayOrderResponse], error) {
	m := req.Msg
	in, err := s.payInput(m)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.PayOrder(ctx, commandOf(m), in, encodePay)
	resp := &accruev1.PayOrderResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// encodePay is the response stored under a paid order's key.
func encodePay(v service.OrderView) ([]byte, error) {
	return encodeProto(&accruev1.PayOrderResponse{Order: orderToProto(v)})
}

// payInput validates a PayOrder request's fields.
func (s *Server) payInput(m *accruev1.PayOrderRequest) (service.PayOrderInput, error) {
	if err := checkRef("order", m.GetOrder()); err != nil {
		return service.PayOrderInput{}, err
	}
	if err := checkRef("customer", m.GetCustomer()); err != nil {
		return service.PayOrderInput{}, err
	}
	if len(m.GetVisitor()) > VisitorLenMax {
		return service.PayOrderInput{}, fault.InvalidArgument("visitor", "at most %d characters", VisitorLenMax)
	}
	if len(m.GetPartnerCode()) > partnerCodeLenMax {
		return service.PayOrderInput{}, fault.InvalidArgument("partner_code", "at most %d characters", partnerCodeLenMax)
	}
	if m.GetLead() != "" {
		if err := checkID("lead", m.GetLead(), IDLenMax); err != nil {
			return service.PayOrderInput{}, err
		}
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return service.PayOrderInput{}, err
	}
	key, _ := affiliate.CodeKey(m.GetPartnerCode()) // "" matches no partner
	return service.PayOrderInput{
		Order: m.GetOrder(), Customer: m.GetCustomer(), Visitor: m.GetVisitor(), CodeKey: key, Lead: m.GetLead(),
		Lines: orderLines(m.GetLines()), Shipping: m.GetShipping(), At: at,
	}, nil
}
