package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// Platform accounts of every program (SPEC §2), with their normal sides.
var platformAccounts = []struct {
	code string
	side ledger.Side
}{
	{"platform:attributed_sales", ledger.Debit},
	{"platform:commission_expense", ledger.Debit},
	{"platform:upline_expense", ledger.Debit},
	{"platform:payout_clearing", ledger.Credit},
	{"platform:store_credit_redeemed", ledger.Credit},
}

// hotShards spreads the platform accounts, which every order touches, over
// this many balance rows.
const hotShards = 16

// Journal transaction kinds the domain posts. The raw ledger API may
// neither post nor reverse them: their consequences live in domain tables
// (orders, payouts, spends, statements) and are corrected by domain
// commands (refund, cancel, fail, reverse spend).
const (
	kindAccrual       = "order.accrual"
	kindAdjustment    = "order.adjustment"
	kindMaturing      = "maturing"
	kindRelease       = "release"
	kindPayout        = "payout"
	kindPayoutSettled = "payout_settled"
	kindPayoutFailed  = "payout_failed"
	kindSpend         = "spend"
	kindSpendReversal = "spend_reversal"
)

var domainKinds = map[string]bool{
	kindAccrual: true, kindAdjustment: true, kindMaturing: true, kindRelease: true, kindPayout: true,
	kindPayoutSettled: true, kindPayoutFailed: true, kindSpend: true, kindSpendReversal: true,
}

// Journal idempotency keys the domain derives: "cmd:" + a command's key,
// "close:<period>:..." for a close. Raw ledger keys may not use them.
var reservedKeyPrefixes = []string{"cmd:", "close:"}

// Account code prefixes the domain manages; the raw API may post to them
// (a manual adjustment) but not open them.
var managedAccountPrefixes = []string{"partner:", "platform:"}

// Partner account kinds (SPEC §2); all credit-normal.
const (
	kindSales    = "sales"
	kindPending  = "pending"
	kindAccrued  = "accrued"
	kindPayable  = "payable"
	kindInPayout = "in_payout"
)

var partnerAccountKinds = []string{kindSales, kindPending, kindAccrued, kindPayable, kindInPayout}

// partnerAccount is the code of one of a partner's accounts.
func partnerAccount(partner, kind string) string { return "partner:" + partner + ":" + kind }

// partnerAccountKind returns the kind of a partner account code
// ("partner:<id>:<kind>").
func partnerAccountKind(code string) (string, bool) {
	if !strings.HasPrefix(code, "partner:") {
		return "", false
	}
	i := strings.LastIndexByte(code, ':')
	return code[i+1:], i > len("partner:")
}

// partner is a row of the partners table.
type partner struct {
	ID           string
	Code         string
	Customer     string
	Status       string
	Private      map[string]string
	RegisteredAt time.Time
}

// loadPartner reads a partner; fault NotFound naming field when absent.
// forUpdate locks the row, serialising commands that check its balances.
func loadPartner(ctx context.Context, q querier, program, id, field string, forUpdate bool) (partner, error) {
	sql := `SELECT id, code, customer, status, private, registered_at FROM partners WHERE program_id = $1 AND id = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var (
		p       partner
		private []byte
	)
	err := q.QueryRow(ctx, sql, program, id).Scan(&p.ID, &p.Code, &p.Customer, &p.Status, &private, &p.RegisteredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return partner{}, fault.Missing(field, "no partner %q", id)
	}
	if err != nil {
		return partner{}, fmt.Errorf("server: loading partner %s: %w", id, err)
	}
	if err := json.Unmarshal(private, &p.Private); err != nil {
		return partner{}, fmt.Errorf("server: partner %s private details: %w", id, err)
	}
	return p, nil
}

// lockProgramExclusive takes the program row FOR UPDATE: it waits for
// in-flight order events (which hold it FOR SHARE) and keeps new ones out
// until commit. Used by rare structural changes: rules versions, re-links.
func lockProgramExclusive(ctx context.Context, tx pgx.Tx, program string) error {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM programs WHERE id = $1 FOR UPDATE`, program).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Missing("program", "no program %q", program)
	}
	if err != nil {
		return fmt.Errorf("server: locking program %s: %w", program, err)
	}
	return nil
}

// versionAt returns the rules version in force at t: the one effective
// latest at or before t (the higher version on a tie), or the earliest
// effective version when t precedes them all.
func (s *Server) versionAt(ctx context.Context, q querier, program string, t time.Time) (int32, *rules.Program, error) {
	var v int32
	err := q.QueryRow(ctx, `SELECT COALESCE(
			(SELECT version FROM rule_versions WHERE program_id = $1 AND effective_at <= $2 ORDER BY effective_at DESC, version DESC LIMIT 1),
			(SELECT version FROM rule_versions WHERE program_id = $1 ORDER BY effective_at, version LIMIT 1), 0)`, program, t).Scan(&v)
	if err != nil {
		return 0, nil, fmt.Errorf("server: finding the rules of %s at %s: %w", program, t.Format(time.RFC3339), err)
	}
	if v == 0 {
		return 0, nil, fault.Missing("program", "program %q has no rules", program)
	}
	p, err := s.rulesVersion(ctx, q, program, v)
	return v, p, err
}

// parseAmount reads a non-negative wire amount in the program's currency.
func parseAmount(field, s string, scale int32) (decimal.Decimal, error) {
	d, err := money.Parse(s, scale)
	if err != nil {
		return decimal.Zero, fault.Invalid(field, "%v", err)
	}
	if d.IsNegative() {
		return decimal.Zero, fault.Invalid(field, "must not be negative, got %s", s)
	}
	return d, nil
}

// parsePositiveAmount reads a wire amount that must be above zero.
func parsePositiveAmount(field, s string, scale int32) (decimal.Decimal, error) {
	d, err := parseAmount(field, s, scale)
	if err != nil {
		return decimal.Zero, err
	}
	if !d.IsPositive() {
		return decimal.Zero, fault.Invalid(field, "must be positive")
	}
	return d, nil
}

// movement accumulates signed deltas (debits positive) by account, keeping
// first-seen order so the journal reads naturally.
type movement struct {
	deltas map[string]decimal.Decimal
	order  []string
}

// move records amount moving from the credited account to the debited one:
// Dr debit / Cr credit.
func (m *movement) move(debit, credit string, amount decimal.Decimal) {
	if amount.IsZero() {
		return
	}
	if m.deltas == nil {
		m.deltas = map[string]decimal.Decimal{}
	}
	for _, c := range []string{debit, credit} {
		if _, ok := m.deltas[c]; !ok {
			m.order = append(m.order, c)
		}
	}
	m.deltas[debit] = m.deltas[debit].Add(amount)
	m.deltas[credit] = m.deltas[credit].Sub(amount)
}

// legs returns the non-zero net legs in first-seen order: a positive net
// delta is a debit, a negative one a credit.
func (m *movement) legs() []ledger.Leg {
	var out []ledger.Leg
	for _, code := range m.order {
		d := m.deltas[code]
		switch {
		case d.IsPositive():
			out = append(out, ledger.Leg{Account: code, Side: ledger.Debit, Amount: d})
		case d.IsNegative():
			out = append(out, ledger.Leg{Account: code, Side: ledger.Credit, Amount: d.Neg()})
		}
	}
	return out
}
