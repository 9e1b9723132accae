package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// partnerService serves accrue.v1.PartnerService.
type partnerService struct{ *Server }

// Limits on partners.
const (
	IDLenMax         = 64
	PrivateLenMax    = 512
	generatedCodeLen = service.GeneratedCodeLen
)

// checkID accepts URL-safe ids: letters, digits, '-', '_' and '.'.
func checkID(field, id string, lenMax int) error {
	if id == "" || len(id) > lenMax {
		return fault.InvalidArgument(field, "required, 1 to %d characters", lenMax)
	}
	if r, ok := affiliate.URLSafe(id); !ok {
		return fault.InvalidArgument(field, "%q has %q; use letters, digits, '-', '_' and '.'", id, r)
	}
	return nil
}

func privateFromProto(p *accruev1.PartnerPrivate) (map[string]string, error) {
	out := map[string]string{}
	if p == nil {
		return out, nil
	}
	for k, v := range privateValues(p) {
		if len(v) > PrivateLenMax {
			return nil, fault.InvalidArgument("private."+k, "at most %d characters", PrivateLenMax)
		}
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

// RegisterPartner adds a partner with its referral code (generated when
// none is given), its accounts and, when given, its parent link.
func (s *partnerService) RegisterPartner(ctx context.Context, req *connect.Request[accruev1.RegisterPartnerRequest]) (*connect.Response[accruev1.RegisterPartnerResponse], error) {
	m := req.Msg
	in, err := s.newPartner(m)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.RegisterPartner(ctx, commandOf(m), in, encodePartner)
	resp := &accruev1.RegisterPartnerResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// encodePartner is the response stored under a registration's key.
func encodePartner(v service.PartnerView) ([]byte, error) {
	return encodeProto(&accruev1.RegisterPartnerResponse{Partner: partnerToProto(v, true)})
}

// newPartner validates a RegisterPartner request's fields.
func (s *partnerService) newPartner(m *accruev1.RegisterPartnerRequest) (service.NewPartner, error) {
	at, err := s.at(m.GetAt())
	if err != nil {
		return service.NewPartner{}, err
	}
	if err := checkID("partner", m.GetPartner(), IDLenMax); err != nil {
		return service.NewPartner{}, err
	}
	if m.GetCode() != "" {
		if err := checkID("code", m.GetCode(), affiliate.CodeLenMax); err != nil {
			return service.NewPartner{}, err
		}
	}
	if err := checkOptionalRef("customer", m.GetCustomer()); err != nil {
		return service.NewPartner{}, err
	}
	if m.GetParent() == m.GetPartner() {
		return service.NewPartner{}, fault.InvalidArgument("parent", "a partner cannot be its own parent")
	}
	private, err := privateFromProto(m.GetPrivate())
	if err != nil {
		return service.NewPartner{}, err
	}
	until, err := optionalTime("parent_until", m.GetParentUntil())
	if err != nil {
		return service.NewPartner{}, err
	}
	return service.NewPartner{Program: m.GetProgram(), Partner: m.GetPartner(), Customer: m.GetCustomer(), Code: m.GetCode(),
		Parent: m.GetParent(), ParentUntil: until, Private: private, At: at}, nil
}

// optionalTime reads an optional non-event time (readTime); nil when unset.
func optionalTime(field string, ts *timestamppb.Timestamp) (*time.Time, error) {
	t, ok, err := readTime(field, ts)
	if err != nil || !ok {
		return nil, err
	}
	return &t, nil
}

// UpdatePartner changes a partner's status, private details or parent link
// (a new parent, a detachment or a new end of the current link) from `at`:
// only what its update_mask names, or without one what it sets
// (partner_update.go).
func (s *partnerService) UpdatePartner(ctx context.Context, req *connect.Request[accruev1.UpdatePartnerRequest]) (*connect.Response[accruev1.UpdatePartnerResponse], error) {
	at, err := s.at(req.Msg.GetAt())
	if err != nil {
		return nil, err
	}
	change, err := changeOf(req.Msg, at)
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.UpdatePartner(ctx, commandOf(req.Msg), change, func(v service.PartnerView) ([]byte, error) {
		return encodeProto(&accruev1.UpdatePartnerResponse{Partner: partnerToProto(v, true)})
	})
	resp := &accruev1.UpdatePartnerResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// partnerToProto renders a partner view, its private details when asked.
func partnerToProto(v service.PartnerView, withPrivate bool) *accruev1.Partner {
	out := &accruev1.Partner{Id: v.ID, Code: v.Code, Customer: v.Customer, RegisteredAt: stamp(v.RegisteredAt),
		Status: accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE, Parent: v.Parent, Volume: v.Volume, Tier: v.Tier}
	if v.Status == affiliate.StatusSuspended {
		out.Status = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
	}
	if v.ParentUntil != nil {
		out.ParentUntil = stamp(*v.ParentUntil)
	}
	if withPrivate {
		out.Private = privateToProto(v.Private)
	}
	return out
}

// partnerView renders a partner as seen at t.
func (s *Server) partnerView(ctx context.Context, program, id string, t time.Time, withPrivate bool) (*accruev1.Partner, error) {
	v, err := s.svc.Partner(ctx, program, id, t)
	if err != nil {
		return nil, err
	}
	return partnerToProto(v, withPrivate), nil
}

// GetPartner returns a partner as seen now, private details on request.
func (s *partnerService) GetPartner(ctx context.Context, req *connect.Request[accruev1.GetPartnerRequest]) (*connect.Response[accruev1.GetPartnerResponse], error) {
	p, err := s.partnerView(ctx, req.Msg.GetProgram(), req.Msg.GetPartner(), s.clock.Now(), req.Msg.GetIncludePrivate())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetPartnerResponse{Partner: p}), nil
}

// ListPartners pages through a program's partners in id order.
func (s *partnerService) ListPartners(ctx context.Context, req *connect.Request[accruev1.ListPartnersRequest]) (*connect.Response[accruev1.ListPartnersResponse], error) {
	pg, err := readPage(req.Msg, 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pg.after != nil {
		after = pg.after[0]
	}
	views, err := s.svc.ListPartners(ctx, req.Msg.GetProgram(), after, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListPartnersResponse{}
	for _, v := range views {
		resp.Partners = append(resp.Partners, partnerToProto(v, false))
	}
	if len(views) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, views[len(views)-1].ID)
	}
	return connect.NewResponse(resp), nil
}
