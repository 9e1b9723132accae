package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
)

// Statement statuses (SPEC §7).
const (
	statementFinal       = "final"
	statementPreliminary = "preliminary"
)

// statementsListMax bounds how many statements one export returns (and
// GetStatement reads); ListStatements pages instead.
const statementsListMax = 10_000

// statementKinds are the partner accounts a statement reports.
var statementKinds = []string{affiliate.Pending, affiliate.Accrued, affiliate.Payable, affiliate.InPayout}

func allZero(bs map[string]decimal.Decimal) bool {
	for _, b := range bs {
		if !b.IsZero() {
			return false
		}
	}
	return true
}

func balancesProto(bs map[string]decimal.Decimal, scale int32) *accruev1.StatementBalances {
	return &accruev1.StatementBalances{
		Pending:  bs[affiliate.Pending].StringFixed(scale),
		Accrued:  bs[affiliate.Accrued].StringFixed(scale),
		Payable:  bs[affiliate.Payable].StringFixed(scale),
		InPayout: bs[affiliate.InPayout].StringFixed(scale),
	}
}

// describe names a statement line: its kind and a sentence a partner reads.
// amount is the line's amount on the account's normal side. Order
// transactions carry refs order, customer and partner (the order's own
// partner); a line of another partner is an upline bonus.
func describe(kind string, refs map[string]string, partner string, amount decimal.Decimal) (string, string) {
	switch kind {
	case affiliate.KindMaturing:
		return kind, "Matured"
	case affiliate.KindRelease:
		return kind, "Released to payable"
	case affiliate.KindPayout:
		return kind, "Payout " + refs["payout"]
	case affiliate.KindPayoutSettled:
		return kind, "Payout " + refs["payout"] + " settled"
	case affiliate.KindPayoutFailed:
		return kind, "Payout " + refs["payout"] + " failed, returned to payable"
	case affiliate.KindSpend:
		if o := refs["spend_order"]; o != "" {
			return kind, "Store credit spend " + refs["spend"] + " (order " + o + ")"
		}
		return kind, "Store credit spend " + refs["spend"]
	case affiliate.KindSpendReversal:
		return kind, "Store credit spend " + refs["spend"] + " reversed"
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

// GetStatement returns one partner's statement for one period.
func (s *periodService) GetStatement(ctx context.Context, req *connect.Request[accruev1.GetStatementRequest]) (*connect.Response[accruev1.GetStatementResponse], error) {
	m := req.Msg
	switch {
	case m.GetProgram() == "":
		return nil, fault.Invalid("program", "required")
	case m.GetPartner() == "":
		return nil, fault.Invalid("partner", "required")
	}
	if _, _, err := periodRange(m.GetPeriod(), time.UTC); err != nil {
		return nil, err
	}
	sts, err := s.statements(ctx, m.GetProgram(), m.GetPartner(), m.GetPeriod(), nil, statementsListMax)
	if err != nil {
		return nil, err
	}
	if len(sts) == 0 {
		return nil, fault.Missing("period", "no statement of partner %q for %s", m.GetPartner(), m.GetPeriod())
	}
	return connect.NewResponse(&accruev1.GetStatementResponse{Statement: sts[0]}), nil
}

// ListStatements pages through statements by period and partner, either
// filter optional.
func (s *periodService) ListStatements(ctx context.Context, req *connect.Request[accruev1.ListStatementsRequest]) (*connect.Response[accruev1.ListStatementsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.Invalid("program", "required")
	}
	pg, err := readPage(m, 2)
	if err != nil {
		return nil, err
	}
	limit := pg.limit
	sts, err := s.statements(ctx, m.GetProgram(), m.GetPartner(), m.GetPeriod(), pg.after, limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListStatementsResponse{Statements: sts}
	if len(sts) == limit {
		last := sts[len(sts)-1]
		resp.NextPageToken = pg.nextToken(m, last.GetPeriod(), last.GetPartner())
	}
	return connect.NewResponse(resp), nil
}

// ExportStatements renders statements as CSV for finance: per statement,
// an opening_balance row per account, one row per line, and a
// closing_balance row per account, so each account's opening plus its
// lines equals its closing.
func (s *periodService) ExportStatements(ctx context.Context, req *connect.Request[accruev1.ExportStatementsRequest]) (*connect.Response[accruev1.ExportStatementsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.Invalid("program", "required")
	}
	sts, err := s.statements(ctx, m.GetProgram(), m.GetPartner(), m.GetPeriod(), nil, statementsListMax)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	// released (3) and amount (8) are amounts; every other cell is text
	// and is escaped against formulas (csv.go).
	rows := csvRows{w: w, amounts: map[int]bool{3: true, 8: true}}
	rows.write("partner", "period", "status", "released", "due_date",
		"date", "kind", "account", "amount", "description", "order", "customer", "transaction_id")
	for _, st := range sts {
		head := []string{st.GetPartner(), st.GetPeriod(), st.GetStatus(), st.GetReleased(), st.GetDueDate()}
		edge := func(kind, date string, b *accruev1.StatementBalances) {
			for _, kv := range [][2]string{{affiliate.Pending, b.GetPending()}, {affiliate.Accrued, b.GetAccrued()}, {affiliate.Payable, b.GetPayable()}, {affiliate.InPayout, b.GetInPayout()}} {
				rows.write(append(head[:5:5], date, kind, affiliate.PartnerAccount(st.GetPartner(), kv[0]), kv[1], "", "", "", "")...)
			}
		}
		edge("opening_balance", st.GetPeriod()+"-01", st.GetOpening())
		for _, l := range st.GetLines() {
			rows.write(append(head[:5:5], l.GetAt().AsTime().Format(time.DateOnly), l.GetKind(), l.GetAccount(), l.GetAmount(),
				l.GetDescription(), l.GetOrder(), l.GetCustomer(), fmt.Sprint(l.GetTransactionId()))...)
		}
		edge("closing_balance", "", st.GetClosing())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("server: writing CSV: %w", err)
	}
	return connect.NewResponse(&accruev1.ExportStatementsResponse{Csv: buf.String()}), nil
}

// statements reads stored statements, filtered by partner and period when
// not empty, ordered by period then partner, after the keyset position
// after (period, partner; nil for the start), at most limit of them.
func (s *Server) statements(ctx context.Context, program, partner, period string, after []string, limit int) ([]*accruev1.Statement, error) {
	if after == nil {
		after = []string{"", ""}
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT body FROM statements
		WHERE program_id = $1 AND ($2::text = '' OR partner_id = $2) AND ($3::text = '' OR period = $3)
		  AND (period, partner_id) > ($4::text, $5::text)
		ORDER BY period, partner_id LIMIT $6`, program, partner, period, after[0], after[1], limit)
	if err != nil {
		return nil, fmt.Errorf("server: reading statements: %w", err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("server: reading statements: %w", err)
	}
	out := make([]*accruev1.Statement, len(bodies))
	for i, b := range bodies {
		out[i] = &accruev1.Statement{}
		if err := protojson.Unmarshal(b, out[i]); err != nil {
			return nil, fmt.Errorf("server: decoding a stored statement: %w", err)
		}
	}
	return out, nil
}
