package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
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
var statementKinds = []string{kindPending, kindAccrued, kindPayable, kindInPayout}

// closePartner releases one partner's accrued balance when it reached the
// minimum and writes its statement for period, in tx. A partner whose
// statement exists is done; the release key makes a repeated release a
// no-op, so running this twice writes everything once.
func (s *Server) closePartner(ctx context.Context, tx pgx.Tx, prog *ledger.Program, rp *rules.Program,
	period string, end time.Time, p closingPartner) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM statements
		WHERE program_id = $1 AND partner_id = $2 AND period = $3)`, prog.ID, p.id, period).Scan(&exists); err != nil {
		return fmt.Errorf("server: reading the %s statement of %s: %w", period, p.id, err)
	}
	if exists {
		return nil
	}
	released, err := release(ctx, tx, prog, rp, period, end, p)
	if err != nil {
		return err
	}
	opening, err := partnerBalances(ctx, tx, prog.ID, p.id, prevPeriod(period))
	if err != nil {
		return err
	}
	closing, err := partnerBalances(ctx, tx, prog.ID, p.id, period)
	if err != nil {
		return err
	}
	lines, err := statementLines(ctx, tx, prog, p.id, period)
	if err != nil {
		return err
	}
	if len(lines) == 0 && allZero(closing) {
		return nil // no activity and nothing owed: no statement
	}
	start, _, _ := periodRange(period, prog.Location)
	now := s.clock.Now()
	st := &accruev1.Statement{
		Partner:  p.id,
		Period:   period,
		Status:   statementPreliminary,
		Released: released.StringFixed(prog.Scale),
		DueDate:  time.Date(start.Year(), start.Month()+1, rp.DueDay, 0, 0, 0, 0, prog.Location).Format(time.DateOnly),
		Opening:  balancesProto(opening, prog.Scale),
		Closing:  balancesProto(closing, prog.Scale),
		Lines:    lines,
		IssuedAt: stamp(now),
	}
	if released.IsPositive() {
		st.Status = statementFinal
	}
	body, err := protojson.Marshal(st)
	if err != nil {
		return fmt.Errorf("server: encoding statement: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO statements (program_id, partner_id, period, status, released, body, issued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		prog.ID, p.id, period, st.Status, released.String(), body, now)
	if err != nil {
		return fmt.Errorf("server: writing the %s statement of %s: %w", period, p.id, err)
	}
	return nil
}

// release moves a partner's whole accrued balance booked up to period to
// payable when the partner is active and it reached the minimum, and returns
// what the period released (also when an earlier run posted it).
func release(ctx context.Context, tx pgx.Tx, prog *ledger.Program, rp *rules.Program,
	period string, end time.Time, p closingPartner) (decimal.Decimal, error) {
	key := "close:" + period + ":release:" + p.id
	payable := partnerAccount(p.id, kindPayable)
	var amount string
	err := tx.QueryRow(ctx, `SELECT (-e.amount)::text FROM transactions t
		JOIN entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id
		WHERE t.program_id = $1 AND t.idempotency_key = $2 AND a.code = $3`, prog.ID, key, payable).Scan(&amount)
	if err == nil {
		return decimal.RequireFromString(amount), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return decimal.Zero, fmt.Errorf("server: reading release %s: %w", key, err)
	}
	if !p.active {
		return decimal.Zero, nil // SPEC §5: a suspended partner gets no release
	}
	accruedCode := partnerAccount(p.id, kindAccrued)
	booked, err := ledger.PeriodBalances(ctx, tx, prog.ID, accruedCode, period)
	if err != nil {
		return decimal.Zero, err
	}
	accrued := booked[accruedCode]
	if !accrued.IsPositive() || accrued.LessThan(rp.PayoutMinimum) {
		return decimal.Zero, nil // carried forward
	}
	var m movement
	m.move(accruedCode, payable, accrued)
	_, _, err = ledger.Post(ctx, tx, ledger.Posting{
		Program: prog.ID, Key: key, Kind: kindRelease, At: end, Period: period,
		Refs: map[string]string{"partner": p.id, "period": period},
		Legs: m.legs(),
	})
	if err != nil {
		return decimal.Zero, err
	}
	return accrued, nil
}

// partnerBalances returns a partner's statement balances booked up to and
// including period, by account kind.
func partnerBalances(ctx context.Context, q querier, program, partner, period string) (map[string]decimal.Decimal, error) {
	booked, err := ledger.PeriodBalances(ctx, q, program, partnerAccount(partner, ""), period)
	if err != nil {
		return nil, err
	}
	out := make(map[string]decimal.Decimal, len(statementKinds))
	for _, k := range statementKinds {
		out[k] = booked[partnerAccount(partner, k)]
	}
	return out, nil
}

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
		Pending:  bs[kindPending].StringFixed(scale),
		Accrued:  bs[kindAccrued].StringFixed(scale),
		Payable:  bs[kindPayable].StringFixed(scale),
		InPayout: bs[kindInPayout].StringFixed(scale),
	}
}

// statementLines returns every entry booked in period on the partner's
// statement accounts, in time order.
func statementLines(ctx context.Context, q querier, prog *ledger.Program, partner, period string) ([]*accruev1.StatementLine, error) {
	codes := make([]string, len(statementKinds))
	for i, k := range statementKinds {
		codes[i] = partnerAccount(partner, k)
	}
	rows, err := q.Query(ctx, `
		SELECT t.id, t.kind, t.at, t.refs, a.code, (a.normal_side * e.amount)::text
		FROM entries e
		JOIN accounts a ON a.id = e.account_id
		JOIN transactions t ON t.id = e.transaction_id
		WHERE a.program_id = $1 AND a.code = ANY($2) AND e.period = $3
		ORDER BY t.at, t.id, e.id`, prog.ID, codes, period)
	if err != nil {
		return nil, fmt.Errorf("server: reading statement lines: %w", err)
	}
	defer rows.Close()
	var out []*accruev1.StatementLine
	for rows.Next() {
		var (
			id         int64
			kind, code string
			amount     string
			at         time.Time
			refsJSON   []byte
			refs       map[string]string
		)
		if err := rows.Scan(&id, &kind, &at, &refsJSON, &code, &amount); err != nil {
			return nil, fmt.Errorf("server: scanning statement line: %w", err)
		}
		if err := json.Unmarshal(refsJSON, &refs); err != nil {
			return nil, fmt.Errorf("server: transaction %d refs: %w", id, err)
		}
		d := decimal.RequireFromString(amount)
		lineKind, desc := describe(kind, refs, partner, d)
		line := &accruev1.StatementLine{
			At: stamp(at.UTC()), Kind: lineKind, Description: desc,
			Order: refs["order"], Account: code, Amount: d.StringFixed(prog.Scale), TransactionId: id,
		}
		// A partner sees its own orders' customers, never those of the
		// sub-partners it earns upline bonuses from.
		if refs["partner"] == partner {
			line.Customer = refs["customer"]
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

// describe names a statement line: its kind and a sentence a partner reads.
// amount is the line's amount on the account's normal side. Order
// transactions carry refs order, customer and partner (the order's own
// partner); a line of another partner is an upline bonus.
func describe(kind string, refs map[string]string, partner string, amount decimal.Decimal) (string, string) {
	switch kind {
	case kindMaturing:
		return kind, "Matured"
	case kindRelease:
		return kind, "Released to payable"
	case kindPayout:
		return kind, "Payout " + refs["payout"]
	case kindPayoutSettled:
		return kind, "Payout " + refs["payout"] + " settled"
	case kindPayoutFailed:
		return kind, "Payout " + refs["payout"] + " failed, returned to payable"
	case kindSpend:
		if o := refs["spend_order"]; o != "" {
			return kind, "Store credit spend " + refs["spend"] + " (order " + o + ")"
		}
		return kind, "Store credit spend " + refs["spend"]
	case kindSpendReversal:
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
			for _, kv := range [][2]string{{kindPending, b.GetPending()}, {kindAccrued, b.GetAccrued()}, {kindPayable, b.GetPayable()}, {kindInPayout, b.GetInPayout()}} {
				rows.write(append(head[:5:5], date, kind, partnerAccount(st.GetPartner(), kv[0]), kv[1], "", "", "", "")...)
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
