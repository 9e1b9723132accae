package service

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// NewLead is a lead as a partner submits it; ID is generated when empty.
type NewLead struct {
	Partner, ID, CustomerName, Contact, Note string
	At                                       time.Time
}

// SubmitLead stores a partner's lead with the partner's referral code; a
// lead id the program has fails AlreadyExists, an unknown partner
// NotFound.
func (s *Service) SubmitLead(ctx context.Context, c Command, in NewLead, encode Encode[store.Lead]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.Lead, error) {
		p, err := LoadPartner(ctx, tx, c.Program, in.Partner, "partner", store.NoLock)
		if err != nil {
			return store.Lead{}, err
		}
		l := store.Lead{ID: in.ID, Partner: p.ID, PartnerCode: p.Code,
			CustomerName: in.CustomerName, Contact: in.Contact, Note: in.Note, SubmittedAt: in.At}
		if l.ID == "" {
			l.ID = "lead-" + strings.ToLower(generateCode())
		}
		l, fresh, err := store.InsertLead(ctx, tx, c.Program, l)
		if err == nil && !fresh {
			err = fault.AlreadyExists("lead", "program %s has a lead %q", c.Program, in.ID)
		}
		return withEvent(ctx, s, tx, c.Program, EventLeadSubmitted, l, err)
	})
}

// Leads returns a page of leads, newest first.
func (s *Service) Leads(ctx context.Context, f store.LeadFilter) ([]store.Lead, error) {
	return store.ListLeads(ctx, s.db.Pool, f)
}

// withLead applies an order's lead to its attribution a (SPEC §5, an
// explicit code first): a partner code that matched a partner wins;
// otherwise the lead's partner, before any click. An unknown lead fails
// NotFound on lead, whatever the code.
func withLead(ctx context.Context, q ledger.Querier, program, lead string, a affiliate.Attribution) (affiliate.Attribution, error) {
	if lead == "" {
		return a, nil
	}
	partner, found, err := store.LeadPartner(ctx, q, program, lead)
	switch {
	case err != nil:
		return a, err
	case !found:
		return a, fault.NotFound("lead", "program %s has no lead %q", program, lead)
	case a.How == affiliate.ByPartnerCode:
		return a, nil
	}
	return affiliate.Attribution{Partner: partner, How: affiliate.ByLead}, nil
}
