package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// Generated referral codes.
const (
	// GeneratedCodeLen is the length of a generated referral code.
	GeneratedCodeLen = 8
	// generatedCodeAttemptsMax bounds how often a taken generated referral
	// code is drawn again.
	generatedCodeAttemptsMax = 5
)

// PartnerView is a partner as seen at some time: its row, its parent link
// then, its sales volume (formatted in the program's currency) and tier.
type PartnerView struct {
	store.Partner
	Parent      string
	ParentUntil *time.Time
	Volume      string
	Tier        string
}

// NewPartner is a partner to register.
type NewPartner struct {
	Program, Partner, Customer string
	// Code is the referral code; empty draws one.
	Code string
	// Parent, when set, links the partner to it from At, until ParentUntil
	// when set.
	Parent      string
	ParentUntil *time.Time
	Private     map[string]string
	At          time.Time
}

// LoadPartner reads a partner (store.LoadPartner); fault NotFound naming
// field when absent.
func LoadPartner(ctx context.Context, q ledger.Querier, program, id, field string, lock store.Lock) (store.Partner, error) {
	p, found, err := store.LoadPartner(ctx, q, program, id, lock)
	if err == nil && !found {
		err = fault.NotFound(field, "no partner %q", id)
	}
	return p, err
}

// RegisterPartner adds a partner with its referral code, its accounts
// and, when given, its parent link; the view is encoded as its response.
func (s *Service) RegisterPartner(ctx context.Context, c Command, in NewPartner, encode Encode[PartnerView]) (Reply, error) {
	return s.inTx(ctx, c, func(tx pgx.Tx) (Reply, error) { return s.registerIn(ctx, tx, c, in, encode) })
}

// registerIn is RegisterPartner in the caller's transaction tx.
func (s *Service) registerIn(ctx context.Context, tx pgx.Tx, c Command, in NewPartner, encode Encode[PartnerView]) (Reply, error) {
	return execIn(ctx, tx, s, c, encode, func(tx pgx.Tx) (PartnerView, error) {
		if _, err := ledger.LoadProgram(ctx, tx, in.Program); err != nil {
			return PartnerView{}, err
		}
		if in.Parent != "" {
			if _, err := LoadPartner(ctx, tx, in.Program, in.Parent, "parent", store.NoLock); err != nil {
				return PartnerView{}, err
			}
		}
		if err := insertPartner(ctx, tx, in); err != nil {
			return PartnerView{}, err
		}
		if in.Parent != "" {
			if err := linkParent(ctx, tx, in.Program, in.Partner, in.Parent, in.At, in.ParentUntil); err != nil {
				return PartnerView{}, err
			}
		}
		codes := make([]string, len(affiliate.PartnerAccountKinds))
		for i, kind := range affiliate.PartnerAccountKinds {
			codes[i] = affiliate.PartnerAccount(in.Partner, kind)
		}
		if err := ledger.OpenAccounts(ctx, tx, in.Program, codes, ledger.Credit, 1, s.clock.Now()); err != nil {
			return PartnerView{}, err
		}
		view, err := s.partnerView(ctx, tx, in.Program, in.Partner, in.At)
		return withEvent(ctx, s, tx, in.Program, EventPartnerRegistered, view, err)
	})
}

// insertPartner adds an active partner's row with its referral code, or
// with a generated code when it has none; a generated code that is taken
// is drawn again, up to generatedCodeAttemptsMax times. Codes are unique in
// any case (index partners_code_lower): Bob is taken when BOB exists.
// Fault AlreadyExists names the partner when its id is taken, else the code.
func insertPartner(ctx context.Context, tx pgx.Tx, in NewPartner) error {
	p := store.Partner{ID: in.Partner, Code: in.Code, Customer: in.Customer, Status: affiliate.StatusActive,
		Private: in.Private, RegisteredAt: in.At}
	generate := p.Code == ""
	for attempt := 1; ; attempt++ {
		if generate {
			p.Code = generateCode()
		}
		inserted, err := store.InsertPartner(ctx, tx, in.Program, p)
		if err != nil || inserted {
			return err
		}
		taken, err := store.PartnerExists(ctx, tx, in.Program, p.ID)
		if err != nil {
			return err
		}
		if taken {
			return fault.AlreadyExists("partner", "partner %q exists", p.ID)
		}
		if !generate || attempt == generatedCodeAttemptsMax {
			return fault.AlreadyExists("code", "referral code %q is taken (codes match in any case)", p.Code)
		}
	}
}

// generateCode returns a random URL-safe referral code.
func generateCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, GeneratedCodeLen)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("service: reading random bytes: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// linkParent starts a parent link at from, ending at until when given
// (which must be after from).
func linkParent(ctx context.Context, tx pgx.Tx, program, partner, parent string, from time.Time, until *time.Time) error {
	if until != nil && !until.After(from) {
		return fault.InvalidArgument("parent_until", "must be after the link starts (%s)", from.Format(time.RFC3339))
	}
	return store.LinkParent(ctx, tx, program, partner, parent, from, until)
}

// Partner returns a partner as seen at t.
func (s *Service) Partner(ctx context.Context, program, id string, t time.Time) (PartnerView, error) {
	return s.partnerView(ctx, s.db.Pool, program, id, t)
}

// partnerView reads a partner as seen at t.
func (s *Service) partnerView(ctx context.Context, q ledger.Querier, program, id string, t time.Time) (PartnerView, error) {
	p, err := LoadPartner(ctx, q, program, id, "partner", store.NoLock)
	if err != nil {
		return PartnerView{}, err
	}
	v := PartnerView{Partner: p}
	if v.Parent, v.ParentUntil, err = store.ParentAt(ctx, q, program, id, t); err != nil {
		return PartnerView{}, err
	}
	volume, err := ledger.AccountBalance(ctx, q, program, affiliate.PartnerAccount(id, affiliate.Sales))
	if err != nil {
		return PartnerView{}, err
	}
	_, prog, err := s.VersionAt(ctx, q, program, t)
	if err != nil {
		return PartnerView{}, err
	}
	v.Volume, v.Tier = volumeAndTier(prog, volume)
	return v, nil
}

// ListPartners returns up to limit partners after id `after`, in id order,
// as seen now: one query for the partners and their links, one for their
// sales volumes, and the rules version in force (cached).
func (s *Service) ListPartners(ctx context.Context, program, after string, limit int) ([]PartnerView, error) {
	now := s.clock.Now()
	rows, err := store.ListPartners(ctx, s.db.Pool, program, after, limit, now)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = affiliate.PartnerAccount(r.ID, affiliate.Sales)
	}
	volumes, err := ledger.AccountBalances(ctx, s.db.Pool, program, codes)
	if err != nil {
		return nil, err
	}
	_, prog, err := s.VersionAt(ctx, s.db.Pool, program, now)
	if err != nil {
		return nil, err
	}
	out := make([]PartnerView, len(rows))
	for i, r := range rows {
		out[i] = PartnerView{Partner: r.Partner, Parent: r.Parent, ParentUntil: r.ParentUntil}
		out[i].Volume, out[i].Tier = volumeAndTier(prog, volumes[codes[i]])
	}
	return out, nil
}

// volumeAndTier formats a sales volume in the program's currency and
// names its tier ("" for none).
func volumeAndTier(prog *rules.Program, volume decimal.Decimal) (string, string) {
	if tier := prog.TierFor(volume); tier != nil {
		return prog.Format(volume), tier.Name
	}
	return prog.Format(volume), ""
}

// ReferralsAfter is a keyset position in a referral listing: the depth
// and id of the last partner listed (zero on the first page).
type ReferralsAfter struct {
	Depth   int
	Partner string
}

// ListReferrals returns up to limit partners below partner as linked now,
// breadth first ((depth, partner) order) after the position `after`, down
// to affiliate.ReferralDepth(depthMax) levels, in one query; more reports
// whether any follow.
func (s *Service) ListReferrals(ctx context.Context, program, partner string, depthMax int, after ReferralsAfter, limit int) (refs []store.Referral, more bool, err error) {
	if _, err := LoadPartner(ctx, s.db.Pool, program, partner, "partner", store.NoLock); err != nil {
		return nil, false, err
	}
	refs, err = store.ReferralsAt(ctx, s.db.Pool, program, partner, s.clock.Now(), affiliate.ReferralDepth(depthMax),
		after.Depth, after.Partner, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(refs) > limit {
		return refs[:limit], true, nil
	}
	return refs, false, nil
}

// UplineIncome sums, in one query, what partner earned as upline from the
// own orders of each of referrals (accruals net of adjustments, on its
// pending and accrued accounts), by referral; a referral that brought
// nothing is absent. scale is the program's currency scale.
func (s *Service) UplineIncome(ctx context.Context, program, partner string, referrals []string) (income map[string]decimal.Decimal, scale int32, err error) {
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return nil, 0, err
	}
	codes := []string{affiliate.PartnerAccount(partner, affiliate.Pending), affiliate.PartnerAccount(partner, affiliate.Accrued)}
	kinds := []string{affiliate.KindAccrual, affiliate.KindAdjustment}
	income, err = ledger.CreditsByRef(ctx, s.db.Pool, program, codes, kinds, "partner", referrals)
	return income, journal.Scale, err
}

// PartnerRecord reads a partner's row; fault NotFound on partner when
// there is none.
func (s *Service) PartnerRecord(ctx context.Context, program, id string) (store.Partner, error) {
	return LoadPartner(ctx, s.db.Pool, program, id, "partner", store.NoLock)
}
