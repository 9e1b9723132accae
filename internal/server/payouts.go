package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/affiliate"
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
// payable to in_payout; more than payable only with allow_advance. A payout
// id is used once.
func (s *payoutService) CreatePayout(ctx context.Context, req *connect.Request[accruev1.CreatePayoutRequest]) (*connect.Response[accruev1.CreatePayoutResponse], error) {
	m := req.Msg
	if err := checkRef("payout", m.GetPayout()); err != nil {
		return nil, err
	}
	if m.GetPartner() == "" {
		return nil, fault.Invalid("partner", "required")
	}
	if err := checkOptionalRef("method", m.GetMethod()); err != nil {
		return nil, err
	}
	if err := checkOptionalRef("reference", m.GetReference()); err != nil {
		return nil, err
	}
	resp := &accruev1.CreatePayoutResponse{}
	replayed, err := s.execPosting(ctx, m, affiliate.KindPayout, resp, func(tx pgx.Tx, ev event) error {
		prog, at := ev.journal, ev.at
		if err := claimPayout(ctx, tx, prog.ID, m.GetPayout(), m.GetPartner(), at); err != nil {
			return err
		}
		p, err := loadPartner(ctx, tx, prog.ID, m.GetPartner(), "partner", true)
		if err != nil {
			return err
		}
		if p.Status != "active" {
			return fault.Precondition("partner", "partner %s is %s and cannot be paid out", p.ID, p.Status)
		}
		payableCode := affiliate.PartnerAccount(p.ID, affiliate.Payable)
		payable, err := ledger.AccountBalance(ctx, tx, prog.ID, payableCode)
		if err != nil {
			return err
		}
		amount, advance, err := payoutAmount(p.ID, payable, m.GetAmount(), m.GetAllowAdvance(), prog.Scale)
		if err != nil {
			return err
		}
		po := payout{
			ID: m.GetPayout(), Partner: p.ID, Amount: amount, Status: payoutPending,
			Method: m.GetMethod(), Reference: m.GetReference(), Advance: advance,
			Bank: bankDetails(p), CreatedAt: at,
		}
		var mv affiliate.Movement
		mv.Move(payableCode, affiliate.PartnerAccount(p.ID, affiliate.InPayout), amount)
		if _, err := ev.post(ctx, tx, payoutRefs(po), nil, mv.Legs()); err != nil {
			return err
		}
		bank, _ := json.Marshal(po.Bank)
		if _, err := tx.Exec(ctx, `UPDATE payouts SET amount = $3, method = $4, reference = $5, advance = $6, bank = $7
			WHERE program_id = $1 AND id = $2`,
			prog.ID, po.ID, po.Amount.String(), po.Method, po.Reference, po.Advance, bank); err != nil {
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

// claimPayout inserts the row of a new payout, to be filled in by its
// command (amount zero until then); fault AlreadyExists when the id is
// taken. Claiming first reports a reused id before any other check, and a
// concurrent command with the same id waits here for this one's outcome.
func claimPayout(ctx context.Context, tx pgx.Tx, program, id, partnerID string, at time.Time) error {
	tag, err := tx.Exec(ctx, `INSERT INTO payouts (program_id, id, partner_id, amount, status, advance, created_at)
		VALUES ($1, $2, $3, 0, $4, false, $5) ON CONFLICT DO NOTHING`, program, id, partnerID, payoutPending, at)
	if err != nil {
		return fmt.Errorf("server: claiming payout %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fault.Exists("payout", "payout %q exists", id)
	}
	return nil
}

// payoutAmount decides what a payout moves out of payable: the requested
// wire amount, or the whole payable balance when requested is empty. More
// than payable is an advance, allowed only with allowAdvance.
func payoutAmount(partnerID string, payable decimal.Decimal, requested string, allowAdvance bool, scale int32) (amount decimal.Decimal, advance bool, err error) {
	if requested == "" {
		if !payable.IsPositive() {
			return decimal.Zero, false, fault.Precondition("amount", "partner %s has nothing payable", partnerID)
		}
		return payable, false, nil
	}
	if amount, err = parsePositiveAmount("amount", requested, scale); err != nil {
		return decimal.Zero, false, err
	}
	advance = amount.GreaterThan(payable)
	if advance && !allowAdvance {
		return decimal.Zero, false, fault.Precondition("amount", "%s exceeds the payable %s; an advance needs allow_advance",
			amount.StringFixed(scale), payable.StringFixed(scale))
	}
	return amount, advance, nil
}

// SettlePayout records that a pending payout reached the partner:
// Dr in_payout / Cr platform:payout_clearing.
func (s *payoutService) SettlePayout(ctx context.Context, req *connect.Request[accruev1.SettlePayoutRequest]) (*connect.Response[accruev1.SettlePayoutResponse], error) {
	m := req.Msg
	resp := &accruev1.SettlePayoutResponse{}
	replayed, err := s.finishPayout(ctx, m, m.GetPayout(), payoutSettled, m.GetReference(), "",
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
	replayed, err := s.finishPayout(ctx, m, m.GetPayout(), payoutFailed, "", m.GetReason(),
		resp, func(p *accruev1.Payout) { resp.Payout = p })
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// finishPayout settles or fails a pending payout as command req; set puts
// the payout into resp, which exec stores for replays.
func (s *Server) finishPayout(ctx context.Context, req postingCommand, id string,
	status, reference, reason string, resp proto.Message, set func(*accruev1.Payout)) (bool, error) {
	if err := checkRef("payout", id); err != nil {
		return false, err
	}
	if err := checkOptionalRef("reference", reference); err != nil {
		return false, err
	}
	kind := affiliate.KindPayoutSettled
	if status == payoutFailed {
		kind = affiliate.KindPayoutFailed
	}
	return s.execPosting(ctx, req, kind, resp, func(tx pgx.Tx, ev event) error {
		prog, at := ev.journal, ev.at
		po, err := loadPayout(ctx, tx, prog.ID, id, true)
		if err != nil {
			return err
		}
		if po.Status != payoutPending {
			return fault.Precondition("payout", "payout %s is %s, not pending", po.ID, po.Status)
		}
		var (
			mv   affiliate.Movement
			meta map[string]string
		)
		inPayout := affiliate.PartnerAccount(po.Partner, affiliate.InPayout)
		if status == payoutSettled {
			mv.Move(inPayout, affiliate.PayoutClearing, po.Amount)
		} else {
			mv.Move(inPayout, affiliate.PartnerAccount(po.Partner, affiliate.Payable), po.Amount)
			if reason != "" {
				meta = map[string]string{"reason": reason}
			}
		}
		if _, err := ev.post(ctx, tx, payoutRefs(po), meta, mv.Legs()); err != nil {
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

// bankDetails copies a partner's bank details (bankKeys) for a payout.
func bankDetails(p partner) map[string]string {
	out := map[string]string{}
	for _, k := range bankKeys {
		if v := p.Private[k]; v != "" {
			out[k] = v
		}
	}
	return out
}

// payoutRefs are the references of a payout's journal transactions.
func payoutRefs(po payout) map[string]string {
	return map[string]string{"payout": po.ID, "partner": po.Partner}
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
	pg, err := readPage(m, 2)
	if err != nil {
		return nil, err
	}
	// The keyset is (created_at, id); the first page starts before any time.
	afterAt, afterID := time.Time{}, ""
	if pg.after != nil {
		if afterAt, err = time.Parse(time.RFC3339Nano, pg.after[0]); err != nil {
			return nil, fault.Invalid("page_token", "malformed")
		}
		afterID = pg.after[1]
	}
	limit := pg.limit
	rows, err := s.db.Pool.Query(ctx, `SELECT `+payoutColumns+` FROM payouts
		WHERE program_id = $1 AND ($2::text = '' OR partner_id = $2) AND (created_at, id) > ($3, $4::text)
		ORDER BY created_at, id LIMIT $5`, prog.ID, m.GetPartner(), afterAt, afterID, limit)
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
	if len(pos) == limit {
		last := pos[len(pos)-1]
		resp.NextPageToken = pg.nextToken(m, last.CreatedAt.UTC().Format(time.RFC3339Nano), last.ID)
	}
	return connect.NewResponse(resp), nil
}

const payoutColumns = `id, partner_id, amount::text, status, method, reference, advance, bank, created_at, finished_at`

// scanPayout reads one payout row of payoutColumns.
func scanPayout(row pgx.Row) (payout, error) {
	var (
		po     payout
		amount string
		bank   []byte
	)
	if err := row.Scan(&po.ID, &po.Partner, &amount, &po.Status, &po.Method, &po.Reference, &po.Advance,
		&bank, &po.CreatedAt, &po.FinishedAt); err != nil {
		return payout{}, fmt.Errorf("server: scanning payout: %w", err)
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

var payoutStatuses = map[string]accruev1.PayoutStatus{
	payoutPending: accruev1.PayoutStatus_PAYOUT_STATUS_PENDING,
	payoutSettled: accruev1.PayoutStatus_PAYOUT_STATUS_SETTLED,
	payoutFailed:  accruev1.PayoutStatus_PAYOUT_STATUS_FAILED,
}

// payoutProto renders a payout; bank details only when private.
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
