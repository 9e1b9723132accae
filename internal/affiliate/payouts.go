package affiliate

import (
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/ledger"
)

// Payouts and store credit (SPEC §8): how much a payout moves, where a
// spend comes from, and the movements of their commands.

// Payout statuses as stored.
const (
	PayoutPending = "pending"
	PayoutSettled = "settled"
	PayoutFailed  = "failed"
)

// BankKeys are the keys of a partner's private details copied onto a
// payout when it is created.
var BankKeys = []string{"bank_account", "bank_name"}

// BankDetails copies a partner's bank details (BankKeys) from its private
// details, leaving out the empty ones.
func BankDetails(private map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range BankKeys {
		if v := private[k]; v != "" {
			out[k] = v
		}
	}
	return out
}

// CheckPayee refuses to pay out to a partner that is not active.
func CheckPayee(partner, status string) error {
	if status != "active" {
		return fault.FailedPrecondition("partner", "partner %s is %s and cannot be paid out", partner, status)
	}
	return nil
}

// PayoutAmount decides what a payout moves out of payable: the requested
// wire amount, or the whole payable balance when requested is empty. More
// than payable is an advance, allowed only with allowAdvance.
func PayoutAmount(partner string, payable decimal.Decimal, requested string, allowAdvance bool, scale int32) (amount decimal.Decimal, advance bool, err error) {
	if requested == "" {
		if !payable.IsPositive() {
			return decimal.Zero, false, fault.FailedPrecondition("amount", "partner %s has nothing payable", partner)
		}
		return payable, false, nil
	}
	if amount, err = money.ParsePositive("amount", requested, scale); err != nil {
		return decimal.Zero, false, err
	}
	advance = amount.GreaterThan(payable)
	if advance && !allowAdvance {
		return decimal.Zero, false, fault.FailedPrecondition("amount", "%s exceeds the payable %s; an advance needs allow_advance",
			amount.StringFixed(scale), payable.StringFixed(scale))
	}
	return amount, advance, nil
}

// SpendAmount reads the wire amount of a spend in a currency of scale;
// it must be above zero.
func SpendAmount(requested string, scale int32) (decimal.Decimal, error) {
	return money.ParsePositive("amount", requested, scale)
}

// PayoutLegs are the legs of a new payout: Dr payable / Cr in_payout.
func PayoutLegs(partner string, amount decimal.Decimal) []ledger.Leg {
	var mv Movement
	mv.Move(PartnerAccount(partner, Payable), PartnerAccount(partner, InPayout), amount)
	return mv.Legs()
}

// CheckPayoutPending refuses to settle or fail a payout that is not
// pending.
func CheckPayoutPending(payout, status string) error {
	if status != PayoutPending {
		return fault.FailedPrecondition("payout", "payout %s is %s, not pending", payout, status)
	}
	return nil
}

// FinishPayoutLegs are the legs that end a pending payout with status: a
// settled payout reached the partner (Dr in_payout / Cr
// platform:payout_clearing), a failed one returns to payable (Dr in_payout
// / Cr payable).
func FinishPayoutLegs(partner, status string, amount decimal.Decimal) []ledger.Leg {
	var mv Movement
	inPayout := PartnerAccount(partner, InPayout)
	if status == PayoutSettled {
		mv.Move(inPayout, PayoutClearing, amount)
	} else {
		mv.Move(inPayout, PartnerAccount(partner, Payable), amount)
	}
	return mv.Legs()
}

// PayoutRefs are the references of a payout's journal transactions.
func PayoutRefs(payout, partner string) map[string]string {
	return map[string]string{"payout": payout, "partner": partner}
}

// Store credit: a partner pays for its own order with its earnings.

// CheckSpender refuses a spend of store credit by a partner that is not
// active.
func CheckSpender(partner, status string) error {
	if status != "active" {
		return fault.FailedPrecondition("partner", "partner %s is %s and cannot spend earnings", partner, status)
	}
	return nil
}

// SplitSpend decides where a spend of amount comes from: payable first, as
// far as it is positive, the rest from accrued. The limit is the net of
// both (SPEC §8): a clawback that took accrued below zero, or an advance
// that took payable below zero, lowers what may be spent; more fails
// FailedPrecondition.
func SplitSpend(amount, payable, accrued decimal.Decimal, scale int32) (fromPayable, fromAccrued decimal.Decimal, err error) {
	available := payable.Add(accrued)
	if amount.GreaterThan(available) {
		return decimal.Zero, decimal.Zero, fault.FailedPrecondition("amount", "%s exceeds the available %s (payable %s + accrued %s)",
			amount.StringFixed(scale), decimal.Max(available, decimal.Zero).StringFixed(scale),
			payable.StringFixed(scale), accrued.StringFixed(scale))
	}
	fromPayable = decimal.Min(amount, decimal.Max(payable, decimal.Zero))
	return fromPayable, amount.Sub(fromPayable), nil
}

// SpendLegs are the legs of a spend: Dr payable and accrued by what each
// gives / Cr platform:store_credit_redeemed.
func SpendLegs(partner string, fromPayable, fromAccrued decimal.Decimal) []ledger.Leg {
	var mv Movement
	mv.Move(PartnerAccount(partner, Payable), StoreCreditRedeemed, fromPayable)
	mv.Move(PartnerAccount(partner, Accrued), StoreCreditRedeemed, fromAccrued)
	return mv.Legs()
}

// CheckSpendReversible refuses to reverse a spend twice.
func CheckSpendReversible(spend string, reversed bool) error {
	if reversed {
		return fault.FailedPrecondition("spend", "spend %s is already reversed", spend)
	}
	return nil
}

// SpendReversalLegs return a spend to the accounts it came from: Dr
// platform:store_credit_redeemed / Cr payable and accrued.
func SpendReversalLegs(partner string, fromPayable, fromAccrued decimal.Decimal) []ledger.Leg {
	var mv Movement
	mv.Move(StoreCreditRedeemed, PartnerAccount(partner, Payable), fromPayable)
	mv.Move(StoreCreditRedeemed, PartnerAccount(partner, Accrued), fromAccrued)
	return mv.Legs()
}

// SpendRefs are the references of a spend's journal transactions; order,
// the partner's own order it paid for, when given.
func SpendRefs(spend, partner, order string) map[string]string {
	refs := map[string]string{"spend": spend, "partner": partner}
	if order != "" {
		refs["spend_order"] = order
	}
	return refs
}
