package server

import (
	"context"
	"strconv"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// Limits on a lead's text.
const (
	LeadTextLenMax = 200
	LeadNoteLenMax = 2000
)

// checkText bounds a free-text field, required or not.
func checkText(field, s string, required bool, lenMax int) error {
	if required && s == "" {
		return fault.InvalidArgument(field, "required, at most %d bytes", lenMax)
	}
	if len(s) > lenMax {
		return fault.InvalidArgument(field, "at most %d bytes, got %d", lenMax, len(s))
	}
	return nil
}

// newLead validates a SubmitLead request.
func (s *portalService) newLead(m *accruev1.SubmitLeadRequest) (service.NewLead, error) {
	if err := checkProgramPartner(m.GetProgram(), m.GetPartner()); err != nil {
		return service.NewLead{}, err
	}
	if m.GetLead() != "" {
		if err := checkID("lead", m.GetLead(), IDLenMax); err != nil {
			return service.NewLead{}, err
		}
	}
	for _, f := range []struct {
		field, value string
		required     bool
		lenMax       int
	}{
		{"customer_name", m.GetCustomerName(), true, LeadTextLenMax},
		{"contact", m.GetContact(), true, LeadTextLenMax},
		{"note", m.GetNote(), false, LeadNoteLenMax},
	} {
		if err := checkText(f.field, f.value, f.required, f.lenMax); err != nil {
			return service.NewLead{}, err
		}
	}
	at, err := s.at(m.GetAt())
	return service.NewLead{Partner: m.GetPartner(), ID: m.GetLead(), CustomerName: m.GetCustomerName(),
		Contact: m.GetContact(), Note: m.GetNote(), At: at}, err
}

// SubmitLead stores a partner's lead.
func (s *portalService) SubmitLead(ctx context.Context, req *connect.Request[accruev1.SubmitLeadRequest]) (*connect.Response[accruev1.SubmitLeadResponse], error) {
	in, err := s.newLead(req.Msg)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.SubmitLead(ctx, commandOf(req.Msg), in, func(l store.Lead) ([]byte, error) {
		return encodeProto(&accruev1.SubmitLeadResponse{Lead: leadToProto(l)})
	})
	return reply(r.Body, r.Replayed, err, func(resp *accruev1.SubmitLeadResponse, b bool) { resp.Replayed = b })
}

func leadToProto(l store.Lead) *accruev1.Lead {
	return &accruev1.Lead{Lead: l.ID, Partner: l.Partner, PartnerCode: l.PartnerCode, CustomerName: l.CustomerName,
		Contact: l.Contact, Note: l.Note, SubmittedAt: stamp(l.SubmittedAt)}
}

// ListLeads pages through leads, newest first.
func (s *portalService) ListLeads(ctx context.Context, req *connect.Request[accruev1.ListLeadsRequest]) (*connect.Response[accruev1.ListLeadsResponse], error) {
	m := req.Msg
	if err := checkID("program", m.GetProgram(), IDLenMax); err != nil {
		return nil, err
	}
	pg, before, err := readSeqPage(m)
	if err != nil {
		return nil, err
	}
	leads, err := s.svc.Leads(ctx, store.LeadFilter{Program: m.GetProgram(), Partner: m.GetPartner(), Before: before, Limit: pg.limit})
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListLeadsResponse{}
	for _, l := range leads {
		resp.Leads = append(resp.Leads, leadToProto(l))
	}
	if len(leads) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, strconv.FormatInt(leads[len(leads)-1].Seq, 10))
	}
	return connect.NewResponse(resp), nil
}

// readSeqPage reads the page of a list kept newest first by a sequence
// number: the page and the number to continue before (0 on the first).
func readSeqPage(m pagedRequest) (page, int64, error) {
	pg, err := readPage(m, 1)
	if err != nil {
		return page{}, 0, err
	}
	before, err := pg.afterID()
	return pg, before, err
}
