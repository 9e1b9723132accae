package affiliate

import (
	"time"

	"github.com/shopspring/decimal"
)

// Statement statuses (SPEC §7): final when the close released something,
// preliminary otherwise.
const (
	StatementFinal       = "final"
	StatementPreliminary = "preliminary"
)

// StatementKinds are the partner accounts a statement reports.
var StatementKinds = []string{Pending, Accrued, Payable, InPayout}

// Balances are a partner's statement balances by account kind.
type Balances map[string]decimal.Decimal

// AllZero reports whether every balance is zero.
func (bs Balances) AllZero() bool {
	for _, b := range bs {
		if !b.IsZero() {
			return false
		}
	}
	return true
}

// Books are a partner's statement balances around a period: booked up to
// the period before (Opening) and up to the period (Closing).
type Books struct {
	Opening, Closing Balances
}

// Statement is a partner's statement of one period.
type Statement struct {
	Partner, Period, Status string
	Released                decimal.Decimal
	DueDate                 string
	Books                   Books
	Lines                   []StatementLine
	IssuedAt                time.Time
}

// StatementLine is one entry on a partner's statement account.
type StatementLine struct {
	At                       time.Time
	Kind, Description        string
	Order, Customer, Account string
	Amount                   decimal.Decimal
	TransactionID            int64
}

// StatementStatus is the status of a statement that released released.
func StatementStatus(released decimal.Decimal) string {
	if released.IsPositive() {
		return StatementFinal
	}
	return StatementPreliminary
}

// Stated reports whether a partner gets a statement: it had activity in
// the period, or owes or is owed something at its end.
func Stated(lines []StatementLine, closing Balances) bool {
	return len(lines) > 0 || !closing.AllZero()
}

// LineOf is partner's statement line for one entry of a transaction of
// kind with refs, amount on the account's normal side. A partner sees its
// own orders' customers, never those of the sub-partners it earns upline
// bonuses from.
func LineOf(partner, kind string, refs map[string]string, account string, amount decimal.Decimal, at time.Time, id int64) StatementLine {
	lineKind, desc := Describe(kind, refs, partner, amount)
	l := StatementLine{
		At: at, Kind: lineKind, Description: desc, Order: refs["order"], Account: account, Amount: amount, TransactionID: id,
	}
	if refs["partner"] == partner {
		l.Customer = refs["customer"]
	}
	return l
}

// Describe names a statement line: its kind and a sentence a partner
// reads. amount is the line's amount on the account's normal side. Order
// transactions carry refs order, customer and partner (the order's own
// partner); a line of another partner is an upline bonus.
func Describe(kind string, refs map[string]string, partner string, amount decimal.Decimal) (string, string) {
	if desc, ok := describeKind(kind, refs); ok {
		return kind, desc
	}
	order := refs["order"]
	if order == "" {
		return kind, kind
	}
	own := refs["partner"] == "" || refs["partner"] == partner
	customer := ""
	if c := refs["customer"]; c != "" {
		customer = " (customer " + c + ")"
	}
	switch {
	case own && amount.IsNegative():
		return "reversal", "Refund/reversal on order " + order + customer
	case own:
		return "accrual", "Commission on order " + order + customer
	case amount.IsNegative():
		return "upline_reversal", "Refund/reversal of referral income from " + refs["partner"] + " (order " + order + ")"
	default:
		return "upline", "Income from referral program from " + refs["partner"]
	}
}

// describeKind describes the lines of the close, payout and spend kinds.
func describeKind(kind string, refs map[string]string) (string, bool) {
	switch kind {
	case KindMaturing:
		return "Matured", true
	case KindRelease:
		return "Released to payable", true
	case KindPayout:
		return "Payout " + refs["payout"], true
	case KindPayoutSettled:
		return "Payout " + refs["payout"] + " settled", true
	case KindPayoutFailed:
		return "Payout " + refs["payout"] + " failed, returned to payable", true
	case KindSpend:
		if o := refs["spend_order"]; o != "" {
			return "Store credit spend " + refs["spend"] + " (order " + o + ")", true
		}
		return "Store credit spend " + refs["spend"], true
	case KindSpendReversal:
		return "Store credit spend " + refs["spend"] + " reversed", true
	}
	return "", false
}

// StatementAccounts lists the statement accounts of partners, with the
// partner each belongs to.
func StatementAccounts(partners []string) ([]string, map[string]string) {
	codes := make([]string, 0, len(partners)*len(StatementKinds))
	owner := make(map[string]string, cap(codes))
	for _, p := range partners {
		for _, k := range StatementKinds {
			c := PartnerAccount(p, k)
			codes = append(codes, c)
			owner[c] = p
		}
	}
	return codes, owner
}

// PendingAccounts are the prefix and suffix of every partner's pending
// account code, for the journal's query of what orders have pending.
func PendingAccounts() (prefix, suffix string) { return partnerPrefix, ":" + Pending }

// StatementReason says in a sentence why a statement has its status: what
// was released, or for a preliminary one what kept the close from releasing
// ("52.00 of the 100.00 minimum"). accrued is the closing accrued balance,
// minimum the payout minimum in force at the period's end; amounts print
// with scale decimals.
func StatementReason(status string, released, accrued, minimum decimal.Decimal, scale int32) string {
	switch {
	case status == StatementFinal:
		return "released " + released.StringFixed(scale)
	case !accrued.IsPositive():
		return "nothing accrued to release"
	case accrued.LessThan(minimum):
		return accrued.StringFixed(scale) + " of the " + minimum.StringFixed(scale) + " minimum"
	default:
		return "not released: the partner was suspended at the close"
	}
}
