package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Payouts (SPEC §8): earnings leave payable for in_payout, then reach the
// partner (settled) or return to payable (failed).

// CreatePayoutInput is a payout to create. Amount is the wire amount; empty
// means the whole payable balance.
type CreatePayoutInput struct {
	Payout, Partner   string
	Amount            string
	AllowAdvance      bool
	Method, Reference string
	At                time.Time
}

// FinishPayoutInput settles or fails a pending payout: Reference, when
// set, replaces the payout's; Reason (failures only) goes into the
// posting's metadata.
type FinishPayoutInput struct {
	Payout            string
	Reference, Reason string
	At                time.Time
}

// PayoutResult is a payout a command wrote, and the scale of its program's
// currency.
type PayoutResult struct {
	Payout store.Payout
	Scale  int32
}

// CreatePayout moves an amount (default: the whole payable balance) from
// payable to in_payout; more than payable only with AllowAdvance. A payout
// id is used once.
func (s *Service) CreatePayout(ctx context.Context, c Command, in CreatePayoutInput, encode Encode[PayoutResult]) (Reply, error) {
	return ExecPosting(ctx, s, c, in.At, affiliate.KindPayout, encode, func(tx pgx.Tx, pc PostingCommand) (PayoutResult, error) {
		journal := pc.Journal
		claimed, err := store.ClaimPayout(ctx, tx, journal.ID, in.Payout, in.Partner, affiliate.PayoutPending, pc.At)
		if err != nil {
			return PayoutResult{}, err
		}
		if !claimed {
			return PayoutResult{}, fault.AlreadyExists("payout", "payout %q exists", in.Payout)
		}
		p, err := LoadPartner(ctx, tx, journal.ID, in.Partner, "partner", store.ForUpdate)
		if err != nil {
			return PayoutResult{}, err
		}
		if err := affiliate.CheckPayee(p.ID, p.Status); err != nil {
			return PayoutResult{}, err
		}
		payable, err := ledger.AccountBalance(ctx, tx, journal.ID, affiliate.PartnerAccount(p.ID, affiliate.Payable))
		if err != nil {
			return PayoutResult{}, err
		}
		amount, advance, err := affiliate.PayoutAmount(p.ID, payable, in.Amount, in.AllowAdvance, journal.Scale)
		if err != nil {
			return PayoutResult{}, err
		}
		po := store.Payout{
			ID: in.Payout, Partner: p.ID, Amount: amount, Status: affiliate.PayoutPending,
			Method: in.Method, Reference: in.Reference, Advance: advance,
			Bank: affiliate.BankDetails(p.Private), CreatedAt: pc.At,
		}
		if _, err := pc.Post(ctx, tx, affiliate.PayoutRefs(po.ID, po.Partner), nil, affiliate.PayoutLegs(p.ID, amount)); err != nil {
			return PayoutResult{}, err
		}
		return withEvent(ctx, s, tx, journal.ID, EventPayoutCreated, PayoutResult{Payout: po, Scale: journal.Scale}, store.RecordPayout(ctx, tx, journal.ID, po))
	})
}

// SettlePayout records that a pending payout reached the partner:
// Dr in_payout / Cr platform:payout_clearing.
func (s *Service) SettlePayout(ctx context.Context, c Command, in FinishPayoutInput, encode Encode[PayoutResult]) (Reply, error) {
	return s.finishPayout(ctx, c, in, affiliate.PayoutSettled, affiliate.KindPayoutSettled, encode)
}

// FailPayout returns a pending payout to payable: Dr in_payout / Cr
// payable.
func (s *Service) FailPayout(ctx context.Context, c Command, in FinishPayoutInput, encode Encode[PayoutResult]) (Reply, error) {
	return s.finishPayout(ctx, c, in, affiliate.PayoutFailed, affiliate.KindPayoutFailed, encode)
}

// finishPayout ends a pending payout with status, posting kind.
func (s *Service) finishPayout(ctx context.Context, c Command, in FinishPayoutInput, status, kind string, encode Encode[PayoutResult]) (Reply, error) {
	return ExecPosting(ctx, s, c, in.At, kind, encode, func(tx pgx.Tx, pc PostingCommand) (PayoutResult, error) {
		journal := pc.Journal
		po, found, err := store.LockPayout(ctx, tx, journal.ID, in.Payout)
		if err != nil {
			return PayoutResult{}, err
		}
		if !found {
			return PayoutResult{}, fault.NotFound("payout", "no payout %q", in.Payout)
		}
		if err := affiliate.CheckPayoutPending(po.ID, po.Status); err != nil {
			return PayoutResult{}, err
		}
		var meta map[string]string
		if status == affiliate.PayoutFailed && in.Reason != "" {
			meta = map[string]string{"reason": in.Reason}
		}
		legs := affiliate.FinishPayoutLegs(po.Partner, status, po.Amount)
		if _, err := pc.Post(ctx, tx, affiliate.PayoutRefs(po.ID, po.Partner), meta, legs); err != nil {
			return PayoutResult{}, err
		}
		if in.Reference != "" {
			po.Reference = in.Reference
		}
		at := pc.At
		po.Status, po.FinishedAt = status, &at
		return withEvent(ctx, s, tx, journal.ID, payoutEvent(status), PayoutResult{Payout: po, Scale: journal.Scale}, store.FinishPayout(ctx, tx, journal.ID, po))
	})
}

// Payouts returns a page of the program's payouts, oldest first.
func (s *Service) Payouts(ctx context.Context, journal *ledger.Program, f store.PayoutFilter) ([]store.Payout, error) {
	return store.ListPayouts(ctx, s.db.Pool, journal.ID, f)
}

// payoutEvent is the event type of a payout finished with status.
func payoutEvent(status string) string {
	if status == affiliate.PayoutSettled {
		return EventPayoutSettled
	}
	return EventPayoutFailed
}
