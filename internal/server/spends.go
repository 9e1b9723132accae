package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
)

// storeCredit is the platform account earnings spent as store credit go to.
const storeCredit = affiliate.StoreCreditRedeemed

// spend is a row of the spends table.
type spend struct {
	ID, Partner, Order       string
	Amount                   decimal.Decimal
	FromPayable, FromAccrued decimal.Decimal
	Reversed                 bool
	At                       time.Time
}

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
		return nil, fault.Invalid("partner", "required")
	case m.GetAmount() == "":
		return nil, fault.Invalid("amount", "required")
	}
	if err := checkOptionalRef("order", m.GetOrder()); err != nil {
		return nil, err
	}
	resp := &accruev1.SpendCreditResponse{}
	replayed, err := s.execPosting(ctx, m, affiliate.KindSpend, resp, func(tx pgx.Tx, ev event) error {
		prog, at := ev.journal, ev.at
		amount, err := parsePositiveAmount("amount", m.GetAmount(), prog.Scale)
		if err != nil {
			return err
		}
		sp := spend{ID: m.GetSpend(), Partner: m.GetPartner(), Order: m.GetOrder(), Amount: amount, At: at}
		if err := claimSpend(ctx, tx, prog.ID, sp); err != nil {
			return err
		}
		p, err := loadPartner(ctx, tx, prog.ID, sp.Partner, "partner", true)
		if err != nil {
			return err
		}
		if p.Status != "active" {
			return fault.Precondition("partner", "partner %s is %s and cannot spend earnings", p.ID, p.Status)
		}
		payableCode, accruedCode := affiliate.PartnerAccount(p.ID, affiliate.Payable), affiliate.PartnerAccount(p.ID, affiliate.Accrued)
		payable, err := ledger.AccountBalance(ctx, tx, prog.ID, payableCode)
		if err != nil {
			return err
		}
		accrued, err := ledger.AccountBalance(ctx, tx, prog.ID, accruedCode)
		if err != nil {
			return err
		}
		if sp.FromPayable, sp.FromAccrued, err = splitSpend(amount, payable, accrued, prog.Scale); err != nil {
			return err
		}
		var mv affiliate.Movement
		mv.Move(payableCode, storeCredit, sp.FromPayable)
		mv.Move(accruedCode, storeCredit, sp.FromAccrued)
		if _, err := ev.post(ctx, tx, spendRefs(sp), nil, mv.Legs()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE spends SET from_payable = $3, from_accrued = $4 WHERE program_id = $1 AND id = $2`,
			prog.ID, sp.ID, sp.FromPayable.String(), sp.FromAccrued.String()); err != nil {
			return fmt.Errorf("server: recording spend %s: %w", sp.ID, err)
		}
		resp.Spend = spendProto(sp, prog.Scale)
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// claimSpend inserts the row of a new spend, to be completed by its command
// (nothing drawn from either account until then); fault AlreadyExists when
// the id is taken. Claiming first reports a reused id before any other
// check, and a concurrent command with the same id waits here for this
// one's outcome.
func claimSpend(ctx context.Context, tx pgx.Tx, program string, sp spend) error {
	tag, err := tx.Exec(ctx, `INSERT INTO spends (program_id, id, partner_id, amount, order_id, from_payable, from_accrued, at)
		VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT DO NOTHING`,
		program, sp.ID, sp.Partner, sp.Amount.String(), sp.Order, sp.At)
	if err != nil {
		return fmt.Errorf("server: claiming spend %s: %w", sp.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fault.Exists("spend", "spend %q exists", sp.ID)
	}
	return nil
}

// splitSpend decides where a spend of amount comes from: payable first, as
// far as it is positive, the rest from accrued. The limit is the net of
// both (SPEC §8): a clawback that took accrued below zero, or an advance
// that took payable below zero, lowers what may be spent; more fails
// FailedPrecondition.
func splitSpend(amount, payable, accrued decimal.Decimal, scale int32) (fromPayable, fromAccrued decimal.Decimal, err error) {
	available := payable.Add(accrued)
	if amount.GreaterThan(available) {
		return decimal.Zero, decimal.Zero, fault.Precondition("amount", "%s exceeds the available %s (payable %s + accrued %s)",
			amount.StringFixed(scale), decimal.Max(available, decimal.Zero).StringFixed(scale),
			payable.StringFixed(scale), accrued.StringFixed(scale))
	}
	fromPayable = decimal.Min(amount, decimal.Max(payable, decimal.Zero))
	return fromPayable, amount.Sub(fromPayable), nil
}

// ReverseSpend returns a spend to the accounts it came from, once.
func (s *payoutService) ReverseSpend(ctx context.Context, req *connect.Request[accruev1.ReverseSpendRequest]) (*connect.Response[accruev1.ReverseSpendResponse], error) {
	m := req.Msg
	if err := checkRef("spend", m.GetSpend()); err != nil {
		return nil, err
	}
	resp := &accruev1.ReverseSpendResponse{}
	replayed, err := s.execPosting(ctx, m, affiliate.KindSpendReversal, resp, func(tx pgx.Tx, ev event) error {
		prog := ev.journal
		sp, err := loadSpend(ctx, tx, prog.ID, m.GetSpend())
		if err != nil {
			return err
		}
		if sp.Reversed {
			return fault.Precondition("spend", "spend %s is already reversed", sp.ID)
		}
		var mv affiliate.Movement
		mv.Move(storeCredit, affiliate.PartnerAccount(sp.Partner, affiliate.Payable), sp.FromPayable)
		mv.Move(storeCredit, affiliate.PartnerAccount(sp.Partner, affiliate.Accrued), sp.FromAccrued)
		if _, err := ev.post(ctx, tx, spendRefs(sp), nil, mv.Legs()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE spends SET reversed = true WHERE program_id = $1 AND id = $2`,
			prog.ID, sp.ID); err != nil {
			return fmt.Errorf("server: updating spend %s: %w", sp.ID, err)
		}
		sp.Reversed = true
		resp.Spend = spendProto(sp, prog.Scale)
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// loadSpend reads and locks a spend; fault NotFound when absent.
func loadSpend(ctx context.Context, tx pgx.Tx, program, id string) (spend, error) {
	var (
		sp                       spend
		amount, fromPay, fromAcc string
	)
	err := tx.QueryRow(ctx, `SELECT id, partner_id, order_id, amount::text, from_payable::text, from_accrued::text, reversed, at
		FROM spends WHERE program_id = $1 AND id = $2 FOR UPDATE`, program, id).
		Scan(&sp.ID, &sp.Partner, &sp.Order, &amount, &fromPay, &fromAcc, &sp.Reversed, &sp.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return spend{}, fault.Missing("spend", "no spend %q", id)
	}
	if err != nil {
		return spend{}, fmt.Errorf("server: loading spend %s: %w", id, err)
	}
	sp.Amount, sp.FromPayable, sp.FromAccrued = decimal.RequireFromString(amount),
		decimal.RequireFromString(fromPay), decimal.RequireFromString(fromAcc)
	return sp, nil
}

// spendRefs are the references of a spend's journal transactions.
func spendRefs(sp spend) map[string]string {
	refs := map[string]string{"spend": sp.ID, "partner": sp.Partner}
	if sp.Order != "" {
		refs["spend_order"] = sp.Order
	}
	return refs
}

// spendProto renders a spend.
func spendProto(sp spend, scale int32) *accruev1.Spend {
	return &accruev1.Spend{
		Id: sp.ID, Partner: sp.Partner, Amount: sp.Amount.StringFixed(scale), Order: sp.Order,
		FromPayable: sp.FromPayable.StringFixed(scale), FromAccrued: sp.FromAccrued.StringFixed(scale),
		Reversed: sp.Reversed, At: stamp(sp.At),
	}
}
