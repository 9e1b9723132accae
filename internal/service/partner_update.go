package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// PartnerChange is what one UpdatePartner changes from At; a zero field
// changes nothing.
type PartnerChange struct {
	Program, Partner string
	At               time.Time
	// Status is affiliate.StatusActive or StatusSuspended; "" keeps it.
	Status string
	// Private holds the details to change; "" removes one.
	Private map[string]string
	// Parent re-links the partner; DetachParent ends its link; ParentUntil
	// without either sets the current link's end.
	Parent       string
	DetachParent bool
	ParentUntil  *time.Time
}

// UpdatePartner applies a partner change; the partner as seen at the
// change is encoded as its response.
func (s *Service) UpdatePartner(ctx context.Context, c Command, ch PartnerChange, encode Encode[PartnerView]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (PartnerView, error) {
		if ch.Parent != "" {
			// Re-linking reads the whole chain above the new parent; an
			// exclusive program lock keeps two re-links from each passing
			// the cycle check against the other's old chain.
			if err := ledger.LockProgramExclusive(ctx, tx, ch.Program); err != nil {
				return PartnerView{}, err
			}
		}
		p, err := LoadPartner(ctx, tx, ch.Program, ch.Partner, "partner", store.ForUpdate)
		if err != nil {
			return PartnerView{}, err
		}
		if ch.Status != "" {
			if err := store.SetPartnerStatus(ctx, tx, ch.Program, p.ID, ch.Status); err != nil {
				return PartnerView{}, err
			}
		}
		if len(ch.Private) > 0 {
			if _, err := s.setPrivate(ctx, tx, ch.Program, p, affiliate.MergePrivate(p.Private, ch.Private), SettingsByAdmin); err != nil {
				return PartnerView{}, err
			}
		}
		if err := relink(ctx, tx, ch, p.ID); err != nil {
			return PartnerView{}, err
		}
		view, err := s.partnerView(ctx, tx, ch.Program, p.ID, ch.At)
		return withEvent(ctx, s, tx, ch.Program, EventPartnerUpdated, view, err)
	})
}

// relink applies a parent change, detachment or new end date at ch.At.
func relink(ctx context.Context, tx pgx.Tx, ch PartnerChange, id string) error {
	current, _, err := store.ParentAt(ctx, tx, ch.Program, id, ch.At)
	if err != nil {
		return err
	}
	switch {
	case ch.DetachParent || ch.Parent != "":
		return moveLink(ctx, tx, ch, id, current)
	case ch.ParentUntil != nil:
		if !ch.ParentUntil.After(ch.At) {
			return fault.InvalidArgument("parent_until", "must be after the change takes effect (%s)", ch.At.Format(time.RFC3339))
		}
		if current == "" {
			return fault.FailedPrecondition("parent_until", "partner %s has no parent", id)
		}
		return store.SetLinkEnd(ctx, tx, ch.Program, id, *ch.ParentUntil, ch.At)
	}
	return nil
}

// moveLink ends the partner's current link (to current, "" for none) at
// ch.At and, for a re-link, starts one to ch.Parent.
func moveLink(ctx context.Context, tx pgx.Tx, ch PartnerChange, id, current string) error {
	// Links only go forward in time: a change dated before a later link
	// would leave two links active at once.
	later, err := store.LatestLinkAfter(ctx, tx, ch.Program, id, ch.At)
	if err != nil {
		return err
	}
	if later != nil {
		return fault.FailedPrecondition("at", "partner %s has a parent link from %s; parent changes must come after it",
			id, later.UTC().Format(time.RFC3339))
	}
	if ch.Parent != "" {
		if err := checkNewParent(ctx, tx, ch.Program, id, ch.Parent, ch.At); err != nil {
			return err
		}
	}
	if current != "" {
		if err := store.EndLinks(ctx, tx, ch.Program, id, ch.At); err != nil {
			return err
		}
	}
	if ch.Parent != "" {
		return linkParent(ctx, tx, ch.Program, id, ch.Parent, ch.At, ch.ParentUntil)
	}
	return nil
}

// checkNewParent refuses parent as id's parent at t: id itself, an
// unknown partner, or one below id (one query reads parent's chain;
// affiliate.CheckNoCycle decides).
func checkNewParent(ctx context.Context, tx pgx.Tx, program, id, parent string, t time.Time) error {
	if parent == id {
		return fault.InvalidArgument("parent", "a partner cannot be its own parent")
	}
	if _, err := LoadPartner(ctx, tx, program, parent, "parent", store.NoLock); err != nil {
		return err
	}
	chain, err := store.ChainAt(ctx, tx, program, parent, t, affiliate.ChainLenMax)
	if err != nil {
		return err
	}
	return affiliate.CheckNoCycle(id, parent, chain)
}

// UplineAt returns the chain an order of partner at t is shared with: up
// to levels ancestors through the links active at t, nearest first, read
// in one query; a suspended member stays in the chain but is not eligible.
func UplineAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time, levels int) ([]rules.UplineMember, error) {
	if levels <= 0 {
		return nil, nil
	}
	ancestors, err := store.UplineAt(ctx, q, program, partner, t, levels)
	if err != nil {
		return nil, err
	}
	members := make([]rules.UplineMember, len(ancestors))
	for i, a := range ancestors {
		members[i] = rules.UplineMember{Partner: a.Partner, Eligible: affiliate.Eligible(a.Status)}
	}
	return affiliate.Upline(partner, members, levels), nil
}
