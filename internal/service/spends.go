package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Store credit (SPEC §8): a partner pays for its own order with its
// earnings, and a spend can be reversed once.

// SpendCreditInput is a spend of store credit: Amount is the wire amount,
// Order the partner's own order it pays for (optional).
type SpendCreditInput struct {
	Spend, Partner, Order string
	Amount                string
	At                    time.Time
}

// ReverseSpendInput names the spend to reverse.
type ReverseSpendInput struct {
	Spend string
	At    time.Time
}

// SpendResult is a spend a command wrote, and the scale of its program's
// currency.
type SpendResult struct {
	Spend store.Spend
	Scale int32
}

// SpendCredit takes payable first, then accrued (only while positive), Cr
// platform:store_credit_redeemed. No minimum applies. A spend id is used
// once.
func (s *Service) SpendCredit(ctx context.Context, c Command, in SpendCreditInput, encode Encode[SpendResult]) (Reply, error) {
	return ExecPosting(ctx, s, c, in.At, affiliate.KindSpend, encode, func(tx pgx.Tx, pc PostingCommand) (SpendResult, error) {
		journal := pc.Journal
		amount, err := affiliate.SpendAmount(in.Amount, journal.Scale)
		if err != nil {
			return SpendResult{}, err
		}
		sp := store.Spend{ID: in.Spend, Partner: in.Partner, Order: in.Order, Amount: amount, At: pc.At}
		claimed, err := store.ClaimSpend(ctx, tx, journal.ID, sp)
		if err != nil {
			return SpendResult{}, err
		}
		if !claimed {
			return SpendResult{}, fault.AlreadyExists("spend", "spend %q exists", sp.ID)
		}
		p, err := LoadPartner(ctx, tx, journal.ID, sp.Partner, "partner", store.ForUpdate)
		if err != nil {
			return SpendResult{}, err
		}
		if err := affiliate.CheckSpender(p.ID, p.Status); err != nil {
			return SpendResult{}, err
		}
		if sp.FromPayable, sp.FromAccrued, err = splitSpend(ctx, tx, journal, p.ID, amount); err != nil {
			return SpendResult{}, err
		}
		legs := affiliate.SpendLegs(p.ID, sp.FromPayable, sp.FromAccrued)
		if _, err := pc.Post(ctx, tx, affiliate.SpendRefs(sp.ID, sp.Partner, sp.Order), nil, legs); err != nil {
			return SpendResult{}, err
		}
		return withEvent(ctx, s, tx, journal.ID, EventCreditSpent, SpendResult{Spend: sp, Scale: journal.Scale}, store.RecordSpendSplit(ctx, tx, journal.ID, sp))
	})
}

// splitSpend reads the partner's payable and accrued balances and splits
// amount over them (affiliate.SplitSpend).
func splitSpend(ctx context.Context, tx pgx.Tx, journal *ledger.Program, partner string, amount decimal.Decimal) (fromPayable, fromAccrued decimal.Decimal, err error) {
	payable, err := ledger.AccountBalance(ctx, tx, journal.ID, affiliate.PartnerAccount(partner, affiliate.Payable))
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	accrued, err := ledger.AccountBalance(ctx, tx, journal.ID, affiliate.PartnerAccount(partner, affiliate.Accrued))
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	return affiliate.SplitSpend(amount, payable, accrued, journal.Scale)
}

// ReverseSpend returns a spend to the accounts it came from, once.
func (s *Service) ReverseSpend(ctx context.Context, c Command, in ReverseSpendInput, encode Encode[SpendResult]) (Reply, error) {
	return ExecPosting(ctx, s, c, in.At, affiliate.KindSpendReversal, encode, func(tx pgx.Tx, pc PostingCommand) (SpendResult, error) {
		journal := pc.Journal
		sp, found, err := store.LockSpend(ctx, tx, journal.ID, in.Spend)
		if err != nil {
			return SpendResult{}, err
		}
		if !found {
			return SpendResult{}, fault.NotFound("spend", "no spend %q", in.Spend)
		}
		if err := affiliate.CheckSpendReversible(sp.ID, sp.Reversed); err != nil {
			return SpendResult{}, err
		}
		legs := affiliate.SpendReversalLegs(sp.Partner, sp.FromPayable, sp.FromAccrued)
		if _, err := pc.Post(ctx, tx, affiliate.SpendRefs(sp.ID, sp.Partner, sp.Order), nil, legs); err != nil {
			return SpendResult{}, err
		}
		sp.Reversed = true
		return withEvent(ctx, s, tx, journal.ID, EventCreditReversed, SpendResult{Spend: sp, Scale: journal.Scale}, store.MarkSpendReversed(ctx, tx, journal.ID, sp.ID))
	})
}
