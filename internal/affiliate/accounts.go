package affiliate

import (
	"strings"

	"github.com/accrue/accrue/ledger"
)

// Platform account codes of every program (SPEC §2).
const (
	AttributedSales     = "platform:attributed_sales"
	CommissionExpense   = "platform:commission_expense"
	UplineExpense       = "platform:upline_expense"
	PayoutClearing      = "platform:payout_clearing"
	StoreCreditRedeemed = "platform:store_credit_redeemed"
)

// Account is an account every program opens: its code and normal side.
type Account struct {
	Code string
	Side ledger.Side
}

// PlatformAccounts are the platform accounts of every program, with their
// normal sides.
var PlatformAccounts = []Account{
	{AttributedSales, ledger.Debit},
	{CommissionExpense, ledger.Debit},
	{UplineExpense, ledger.Debit},
	{PayoutClearing, ledger.Credit},
	{StoreCreditRedeemed, ledger.Credit},
}

// HotShards spreads the platform accounts, which every order touches, over
// this many balance rows.
const HotShards = 16

// Partner account kinds (SPEC §2); all credit-normal.
const (
	Sales    = "sales"
	Pending  = "pending"
	Accrued  = "accrued"
	Payable  = "payable"
	InPayout = "in_payout"
)

// PartnerAccountKinds are the kinds of account every partner has.
var PartnerAccountKinds = []string{Sales, Pending, Accrued, Payable, InPayout}

// partnerPrefix starts every partner account code.
const partnerPrefix = "partner:"

// PartnerAccount is the code of one of a partner's accounts:
// "partner:<id>:<kind>".
func PartnerAccount(partner, kind string) string { return partnerPrefix + partner + ":" + kind }

// PartnerAccountKind returns the kind of a partner account code
// ("partner:<id>:<kind>"); ok is false for any other code.
func PartnerAccountKind(code string) (kind string, ok bool) {
	if !strings.HasPrefix(code, partnerPrefix) {
		return "", false
	}
	i := strings.LastIndexByte(code, ':')
	return code[i+1:], i > len(partnerPrefix)
}

// Journal transaction kinds the domain posts. The raw ledger API may
// neither post nor reverse them: their consequences live in domain tables
// (orders, payouts, spends, statements) and are corrected by domain
// commands (refund, cancel, fail, reverse spend).
const (
	KindAccrual       = "order.accrual"
	KindAdjustment    = "order.adjustment"
	KindMaturing      = "maturing"
	KindRelease       = "release"
	KindPayout        = "payout"
	KindPayoutSettled = "payout_settled"
	KindPayoutFailed  = "payout_failed"
	KindSpend         = "spend"
	KindSpendReversal = "spend_reversal"
)

var domainKinds = map[string]bool{
	KindAccrual: true, KindAdjustment: true, KindMaturing: true, KindRelease: true, KindPayout: true,
	KindPayoutSettled: true, KindPayoutFailed: true, KindSpend: true, KindSpendReversal: true,
}

// IsDomainKind reports whether kind is a journal kind the domain posts.
func IsDomainKind(kind string) bool { return domainKinds[kind] }

// Journal idempotency keys the domain derives: "cmd:" + a command's key,
// "close:<period>:..." for a close. Raw ledger keys may not use them.
var reservedKeyPrefixes = []string{"cmd:", "close:"}

// Account code prefixes the domain manages; the raw API may post to them
// (a manual adjustment) but not open them.
var managedAccountPrefixes = []string{partnerPrefix, "platform:"}

// ReservedKey returns the reserved prefix key starts with, if any: such
// journal keys belong to accrue's own postings.
func ReservedKey(key string) (prefix string, ok bool) { return hasPrefix(key, reservedKeyPrefixes) }

// ManagedAccount returns the managed prefix code starts with, if any: such
// accounts are opened by programs and partners, not by hand.
func ManagedAccount(code string) (prefix string, ok bool) {
	return hasPrefix(code, managedAccountPrefixes)
}

func hasPrefix(s string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return p, true
		}
	}
	return "", false
}
