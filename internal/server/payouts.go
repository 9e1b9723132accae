package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
)

// Payout statuses as stored.
const (
	payoutPending = "pending"
	payoutSettled = "settled"
	payoutFailed  = "failed"
)

// payoutsListMax bounds how many payouts ListPayouts returns.
const payoutsListMax = 10_000

// Keys of partners.private copied onto a payout when it is created.
var bankKeys = []string{"bank_account", "bank_name"}

// payoutService implements accruev1connect.PayoutServiceHandler (SPEC §8).
type payoutService struct{ *Server }

// payout is a row of the payouts table.
type payout struct {
	ID, Partner               string
	Amount                    decimal.Decimal
	Status, Method, Reference string
	Advance                   bool
	Bank                      map[string]string
	CreatedAt                 time.Time
	FinishedAt                *time.Time
}

// CreatePayout moves an amount (default: the whole payable balance) from
// payable to in_payout; more than payable only with allow_advance.
func (s *payoutService) CreatePayout(ctx context.Context, req *connect.Request[accruev1.CreatePayoutRequest]) (*connect.Response[accruev1.CreatePayoutResponse], error) {
	m := req.Msg
	switch {
	case m.GetPayout() == "":
		return nil, fault.Invalid("payout", "required")
	case m.GetPartner() == "":
		return nil, fault.Invalid("partner", "required")
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.CreatePayoutResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, hash []byte) error {
		prog, err := ledger.LockProgram(ctx, tx, m.GetProgram())
		if err != nil {
			return err
		}
		if err := payoutAbsent(ctx, tx, prog.ID, m.GetPayout()); err != nil {
			return err
		}
		p, err := loadPartner(ctx, tx, prog.ID, m.GetPartner(), "partner", true)
		if err != nil {
			return err
		}
		if p.Status != "active" {
			return fault.Precondition("partner", "partner %s is %s and cannot be paid out", p.ID, p.Status)
		}
		payableCode := partnerAccount(p.ID, kindPayable)
		payable, err := ledger.AccountBalance(ctx, tx, prog.ID, payableCode)
		if err != nil {
			return err
		}
		amount := payable
		if m.GetAmount() == "" {
			if !payable.IsPositive() {
				return fault.Precondition("amount", "partner %s has nothing payable", p.ID)
			}
		} else {
			if amount, err = parseAmount("amount", m.GetAmount(), prog.Scale); err != nil {
				return err
			}
			if !amount.IsPositive() {
				return fault.Invalid("amount", "must be positive")
			}
			if amount.GreaterThan(payable) && !m.GetAllowAdvance() {
				return fault.Precondition("amount", "%s exceeds the payable %s; an advance needs allow_advance",
					amount.StringFixed(prog.Scale), payable.StringFixed(prog.Scale))
			}
		}
		po := payout{
			ID: m.GetPayout(), Partner: p.ID, Amount: amount, Status: payoutPending,
			Method: m.GetMethod(), Reference: m.GetReference(), Advance: amount.GreaterThan(payable),
			Bank: map[string]string{}, CreatedAt: at,
		}
		for _, k := range bankKeys {
			if v := p.Private[k]; v != "" {
				po.Bank[k] = v
			}
		}
		var mv movement
		mv.move(payableCode, partnerAccount(p.ID, kindInPayout), amount)
		if err := postPayout(ctx, tx, prog, m.GetIdempotencyKey(), kindPayout, at, po, mv, hash, nil); err != nil {
			return err
		}
		bank, _ := json.Marshal(po.Bank)
		_, err = tx.Exec(ctx, `INSERT INTO payouts (program_id, id, partner_id, amount, status, method, reference, advance, bank, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			prog.ID, po.ID, po.Partner, po.Amount.String(), po.Status, po.Method, po.Reference, po.Advance, bank, at)
		if isUnique(err) {
			return fault.Exists("payout", "payout %q exists", po.ID)
		}
		if err != nil {
			return fmt.Errorf("server: recording payout %s: %w", po.ID, err)
		}
		resp.Payout = payoutProto(po, prog.Scale, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// SettlePayout records that a pending payout reached the partner:
// Dr in_payout / Cr platform:payout_clearing.
func (s *payoutService) SettlePayout(ctx context.Context, req *connect.Request[accruev1.SettlePayoutRequest]) (*connect.Response[accruev1.SettlePayoutResponse], error) {
	m := req.Msg
	resp := &accruev1.SettlePayoutResponse{}
	replayed, err := s.finishPayout(ctx, m, m.GetPayout(), m.GetAt(), payoutSettled, m.GetReference(), "",
		resp, func(p *accruev1.Payout) { resp.Payout = p })
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// FailPayout returns a pending payout to payable: Dr in_payout / Cr payable.
func (s *payoutService) FailPayout(ctx context.Context, req *connect.Request[accruev1.FailPayoutRequest]) (*connect.Response[accruev1.FailPayoutResponse], error) {
	m := req.Msg
	resp := &accruev1.FailPayoutResponse{}
	replayed, err := s.finishPayout(ctx, m, m.GetPayout(), m.GetAt(), payoutFailed, "", m.GetReason(),
		resp, func(p *accruev1.Payout) { resp.Payout = p })
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// finishPayout settles or fails a pending payout as command req; set puts
// the payout into resp, which exec stores for replays.
func (s *Server) finishPayout(ctx context.Context, req command, id string, ts *timestamppb.Timestamp,
	status, reference, reason string, resp proto.Message, set func(*accruev1.Payout)) (bool, error) {
	if id == "" {
		return false, fault.Invalid("payout", "required")
	}
	at, err := s.at(ts)
	if err != nil {
		return false, err
	}
	return s.exec(ctx, req, resp, func(tx pgx.Tx, hash []byte) error {
		prog, err := ledger.LockProgram(ctx, tx, req.GetProgram())
		if err != nil {
			return err
		}
		po, err := loadPayout(ctx, tx, prog.ID, id, true)
		if err != nil {
			return err
		}
		if po.Status != payoutPending {
			return fault.Precondition("payout", "payout %s is %s, not pending", po.ID, po.Status)
		}
		var (
			mv   movement
			kind = kindPayoutSettled
			meta map[string]string
		)
		inPayout := partnerAccount(po.Partner, kindInPayout)
		if status == payoutSettled {
			mv.move(inPayout, "platform:payout_clearing", po.Amount)
		} else {
			kind = kindPayoutFailed
			mv.move(inPayout, partnerAccount(po.Partner, kindPayable), po.Amount)
			if reason != "" {
				meta = map[string]string{"reason": reason}
			}
		}
		if err := postPayout(ctx, tx, prog, req.GetIdempotencyKey(), kind, at, po, mv, hash, meta); err != nil {
			return err
		}
		if reference != "" {
			po.Reference = reference
		}
		po.Status, po.FinishedAt = status, &at
		if _, err := tx.Exec(ctx, `UPDATE payouts SET status = $3, reference = $4, finished_at = $5
			WHERE program_id = $1 AND id = $2`, prog.ID, po.ID, po.Status, po.Reference, at); err != nil {
			return fmt.Errorf("server: updating payout %s: %w", po.ID, err)
		}
		set(payoutProto(po, prog.Scale, false))
		return nil
	})
}

// postPayout posts a payout's movement as command key.
func postPayout(ctx context.Context, tx pgx.Tx, prog *ledger.Program, key, kind string, at time.Time,
	po payout, mv movement, hash []byte, meta map[string]string) error {
	_, _, err := ledger.Post(ctx, tx, ledger.Posting{
		Program: prog.ID, Key: "cmd:" + key, Kind: kind, At: at, Period: prog.BookingPeriod(at),
		Refs:     map[string]string{"payout": po.ID, "partner": po.Partner},
		Metadata: meta, Legs: mv.legs(), RequestHash: hash,
	})
	return err
}

// ListPayouts returns a program's payouts (one partner's when given), oldest
// first; bank details only with include_private.
func (s *payoutService) ListPayouts(ctx context.Context, req *connect.Request[accruev1.ListPayoutsRequest]) (*connect.Response[accruev1.ListPayoutsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.Invalid("program", "required")
	}
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, m.GetProgram())
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+payoutColumns+` FROM payouts
		WHERE program_id = $1 AND ($2::text = '' OR partner_id = $2)
		ORDER BY created_at, id LIMIT $3`, prog.ID, m.GetPartner(), payoutsListMax)
	if err != nil {
		return nil, fmt.Errorf("server: listing payouts: %w", err)
	}
	pos, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (payout, error) { return scanPayout(r) })
	if err != nil {
		return nil, fmt.Errorf("server: listing payouts: %w", err)
	}
	resp := &accruev1.ListPayoutsResponse{}
	for _, po := range pos {
		resp.Payouts = append(resp.Payouts, payoutProto(po, prog.Scale, m.GetIncludePrivate()))
	}
	return connect.NewResponse(resp), nil
}

const payoutColumns = `id, partner_id, amount::text, status, method, reference, advance, bank, created_at, finished_at`

func scanPayout(row pgx.Row) (payout, error) {
	var (
		po     payout
		amount string
		bank   []byte
	)
	if err := row.Scan(&po.ID, &po.Partner, &amount, &po.Status, &po.Method, &po.Reference, &po.Advance,
		&bank, &po.CreatedAt, &po.FinishedAt); err != nil {
		return payout{}, err
	}
	po.Amount = decimal.RequireFromString(amount)
	if err := json.Unmarshal(bank, &po.Bank); err != nil {
		return payout{}, fmt.Errorf("server: payout %s bank details: %w", po.ID, err)
	}
	return po, nil
}

// loadPayout reads a payout; fault NotFound when absent. forUpdate locks it.
func loadPayout(ctx context.Context, q querier, program, id string, forUpdate bool) (payout, error) {
	sql := `SELECT ` + payoutColumns + ` FROM payouts WHERE program_id = $1 AND id = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	po, err := scanPayout(q.QueryRow(ctx, sql, program, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return payout{}, fault.Missing("payout", "no payout %q", id)
	}
	if err != nil {
		return payout{}, fmt.Errorf("server: loading payout %s: %w", id, err)
	}
	return po, nil
}

// payoutAbsent fails AlreadyExists when payout id exists.
func payoutAbsent(ctx context.Context, q querier, program, id string) error {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payouts WHERE program_id = $1 AND id = $2)`,
		program, id).Scan(&exists); err != nil {
		return fmt.Errorf("server: reading payout %s: %w", id, err)
	}
	if exists {
		return fault.Exists("payout", "payout %q exists", id)
	}
	return nil
}

var payoutStatuses = map[string]accruev1.PayoutStatus{
	payoutPending: accruev1.PayoutStatus_PAYOUT_STATUS_PENDING,
	payoutSettled: accruev1.PayoutStatus_PAYOUT_STATUS_SETTLED,
	payoutFailed:  accruev1.PayoutStatus_PAYOUT_STATUS_FAILED,
}

func payoutProto(po payout, scale int32, private bool) *accruev1.Payout {
	out := &accruev1.Payout{
		Id: po.ID, Partner: po.Partner, Amount: po.Amount.StringFixed(scale),
		Status: payoutStatuses[po.Status], Method: po.Method, Reference: po.Reference,
		Advance: po.Advance, CreatedAt: stamp(po.CreatedAt),
	}
	if po.Status == payoutSettled && po.FinishedAt != nil {
		out.SettledAt = stamp(*po.FinishedAt)
	}
	if private {
		out.BankAccount, out.BankName = po.Bank["bank_account"], po.Bank["bank_name"]
	}
	return out
}

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

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
// platform:store_credit_redeemed. No minimum applies.
func (s *payoutService) SpendCredit(ctx context.Context, req *connect.Request[accruev1.SpendCreditRequest]) (*connect.Response[accruev1.SpendCreditResponse], error) {
	m := req.Msg
	switch {
	case m.GetSpend() == "":
		return nil, fault.Invalid("spend", "required")
	case m.GetPartner() == "":
		return nil, fault.Invalid("partner", "required")
	case m.GetAmount() == "":
		return nil, fault.Invalid("amount", "required")
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.SpendCreditResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, hash []byte) error {
		prog, err := ledger.LockProgram(ctx, tx, m.GetProgram())
		if err != nil {
			return err
		}
		amount, err := parseAmount("amount", m.GetAmount(), prog.Scale)
		if err != nil {
			return err
		}
		if !amount.IsPositive() {
			return fault.Invalid("amount", "must be positive")
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM spends WHERE program_id = $1 AND id = $2)`,
			prog.ID, m.GetSpend()).Scan(&exists); err != nil {
			return fmt.Errorf("server: reading spend: %w", err)
		}
		if exists {
			return fault.Exists("spend", "spend %q exists", m.GetSpend())
		}
		p, err := loadPartner(ctx, tx, prog.ID, m.GetPartner(), "partner", true)
		if err != nil {
			return err
		}
		if p.Status != "active" {
			return fault.Precondition("partner", "partner %s is %s and cannot spend earnings", p.ID, p.Status)
		}
		payableCode, accruedCode := partnerAccount(p.ID, kindPayable), partnerAccount(p.ID, kindAccrued)
		payable, err := ledger.AccountBalance(ctx, tx, prog.ID, payableCode)
		if err != nil {
			return err
		}
		accrued, err := ledger.AccountBalance(ctx, tx, prog.ID, accruedCode)
		if err != nil {
			return err
		}
		// The limit is the net of both (SPEC §8): a clawback that took
		// accrued below zero, or an advance that took payable below zero,
		// lowers what may be spent.
		available := payable.Add(accrued)
		if amount.GreaterThan(available) {
			return fault.Precondition("amount", "%s exceeds the available %s (payable %s + accrued %s)",
				amount.StringFixed(prog.Scale), decimal.Max(available, decimal.Zero).StringFixed(prog.Scale),
				payable.StringFixed(prog.Scale), accrued.StringFixed(prog.Scale))
		}
		sp := spend{ID: m.GetSpend(), Partner: p.ID, Order: m.GetOrder(), Amount: amount, At: at}
		// Payable first, as far as it is positive; the rest from accrued.
		sp.FromPayable = decimal.Min(amount, decimal.Max(payable, decimal.Zero))
		sp.FromAccrued = amount.Sub(sp.FromPayable)
		var mv movement
		mv.move(payableCode, storeCredit, sp.FromPayable)
		mv.move(accruedCode, storeCredit, sp.FromAccrued)
		if err := postSpend(ctx, tx, prog, m.GetIdempotencyKey(), kindSpend, at, sp, mv, hash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO spends (program_id, id, partner_id, amount, order_id, from_payable, from_accrued, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, prog.ID, sp.ID, sp.Partner, sp.Amount.String(), sp.Order,
			sp.FromPayable.String(), sp.FromAccrued.String(), at)
		if isUnique(err) {
			return fault.Exists("spend", "spend %q exists", sp.ID)
		}
		if err != nil {
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

// ReverseSpend returns a spend to the accounts it came from, once.
func (s *payoutService) ReverseSpend(ctx context.Context, req *connect.Request[accruev1.ReverseSpendRequest]) (*connect.Response[accruev1.ReverseSpendResponse], error) {
	m := req.Msg
	if m.GetSpend() == "" {
		return nil, fault.Invalid("spend", "required")
	}
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ReverseSpendResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, hash []byte) error {
		prog, err := ledger.LockProgram(ctx, tx, m.GetProgram())
		if err != nil {
			return err
		}
		var (
			sp                       spend
			amount, fromPay, fromAcc string
		)
		err = tx.QueryRow(ctx, `SELECT id, partner_id, order_id, amount::text, from_payable::text, from_accrued::text, reversed, at
			FROM spends WHERE program_id = $1 AND id = $2 FOR UPDATE`, prog.ID, m.GetSpend()).
			Scan(&sp.ID, &sp.Partner, &sp.Order, &amount, &fromPay, &fromAcc, &sp.Reversed, &sp.At)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.Missing("spend", "no spend %q", m.GetSpend())
		}
		if err != nil {
			return fmt.Errorf("server: loading spend: %w", err)
		}
		if sp.Reversed {
			return fault.Precondition("spend", "spend %s is already reversed", sp.ID)
		}
		sp.Amount, sp.FromPayable, sp.FromAccrued = decimal.RequireFromString(amount),
			decimal.RequireFromString(fromPay), decimal.RequireFromString(fromAcc)
		var mv movement
		mv.move(storeCredit, partnerAccount(sp.Partner, kindPayable), sp.FromPayable)
		mv.move(storeCredit, partnerAccount(sp.Partner, kindAccrued), sp.FromAccrued)
		if err := postSpend(ctx, tx, prog, m.GetIdempotencyKey(), kindSpendReversal, at, sp, mv, hash); err != nil {
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

// storeCredit is the platform account earnings spent as store credit go to.
const storeCredit = "platform:store_credit_redeemed"

func postSpend(ctx context.Context, tx pgx.Tx, prog *ledger.Program, key, kind string, at time.Time,
	sp spend, mv movement, hash []byte) error {
	refs := map[string]string{"spend": sp.ID, "partner": sp.Partner}
	if sp.Order != "" {
		refs["spend_order"] = sp.Order
	}
	_, _, err := ledger.Post(ctx, tx, ledger.Posting{
		Program: prog.ID, Key: "cmd:" + key, Kind: kind, At: at, Period: prog.BookingPeriod(at),
		Refs: refs, Legs: mv.legs(), RequestHash: hash,
	})
	return err
}

func spendProto(sp spend, scale int32) *accruev1.Spend {
	return &accruev1.Spend{
		Id: sp.ID, Partner: sp.Partner, Amount: sp.Amount.StringFixed(scale), Order: sp.Order,
		FromPayable: sp.FromPayable.StringFixed(scale), FromAccrued: sp.FromAccrued.StringFixed(scale),
		Reversed: sp.Reversed, At: stamp(sp.At),
	}
}
