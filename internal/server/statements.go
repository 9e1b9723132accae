package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// statementToProto is a statement as the API gives it, amounts formatted
// with the program currency's scale.
func statementToProto(st affiliate.Statement, scale int32) *accruev1.Statement {
	out := &accruev1.Statement{
		Partner:  st.Partner,
		Period:   st.Period,
		Status:   st.Status,
		Released: st.Released.StringFixed(scale),
		DueDate:  st.DueDate,
		Opening:  balancesToStatementProto(st.Books.Opening, scale),
		Closing:  balancesToStatementProto(st.Books.Closing, scale),
		IssuedAt: stamp(st.IssuedAt),
	}
	for _, l := range st.Lines {
		out.Lines = append(out.Lines, &accruev1.StatementLine{
			At: stamp(l.At), Kind: l.Kind, Description: l.Description, Order: l.Order, Customer: l.Customer,
			Account: l.Account, Amount: l.Amount.StringFixed(scale), TransactionId: l.TransactionID,
		})
	}
	return out
}

func balancesToStatementProto(bs affiliate.Balances, scale int32) *accruev1.StatementBalances {
	return &accruev1.StatementBalances{
		Pending:  bs[affiliate.Pending].StringFixed(scale),
		Accrued:  bs[affiliate.Accrued].StringFixed(scale),
		Payable:  bs[affiliate.Payable].StringFixed(scale),
		InPayout: bs[affiliate.InPayout].StringFixed(scale),
	}
}

// encodeStatement is the service.StatementEncoder: a statement is stored
// as the JSON of its API message, and read back (statementsOf) as it.
func encodeStatement(st affiliate.Statement, scale int32) ([]byte, error) {
	return protojson.Marshal(statementToProto(st, scale))
}

// statementsOf decodes stored statement bodies.
func statementsOf(bodies [][]byte) ([]*accruev1.Statement, error) {
	out := make([]*accruev1.Statement, len(bodies))
	for i, b := range bodies {
		out[i] = &accruev1.Statement{}
		if err := protojson.Unmarshal(b, out[i]); err != nil {
			return nil, fmt.Errorf("server: decoding a stored statement: %w", err)
		}
	}
	return out, nil
}

// statements reads the stored statements q selects.
func (s *Server) statements(ctx context.Context, q service.StatementsQuery) ([]*accruev1.Statement, error) {
	bodies, err := s.svc.Statements(ctx, q)
	if err != nil {
		return nil, err
	}
	return statementsOf(bodies)
}

// GetStatement returns one partner's statement for one period.
func (s *periodService) GetStatement(ctx context.Context, req *connect.Request[accruev1.GetStatementRequest]) (*connect.Response[accruev1.GetStatementResponse], error) {
	m := req.Msg
	switch {
	case m.GetProgram() == "":
		return nil, fault.InvalidArgument("program", "required")
	case m.GetPartner() == "":
		return nil, fault.InvalidArgument("partner", "required")
	}
	if _, _, err := affiliate.PeriodRange(m.GetPeriod(), time.UTC); err != nil {
		return nil, err
	}
	sts, err := s.statements(ctx, service.StatementsQuery{
		Program: m.GetProgram(), Partner: m.GetPartner(), Period: m.GetPeriod(), Limit: service.StatementsListMax})
	if err != nil {
		return nil, err
	}
	if len(sts) == 0 {
		return nil, fault.NotFound("period", "no statement of partner %q for %s", m.GetPartner(), m.GetPeriod())
	}
	return connect.NewResponse(&accruev1.GetStatementResponse{Statement: sts[0]}), nil
}

// ListStatements pages through statements by period and partner, either
// filter optional.
func (s *periodService) ListStatements(ctx context.Context, req *connect.Request[accruev1.ListStatementsRequest]) (*connect.Response[accruev1.ListStatementsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	pg, err := readPage(m, 2)
	if err != nil {
		return nil, err
	}
	sts, err := s.statements(ctx, service.StatementsQuery{
		Program: m.GetProgram(), Partner: m.GetPartner(), Period: m.GetPeriod(), After: pg.after, Limit: pg.limit})
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListStatementsResponse{Statements: sts}
	if len(sts) == pg.limit {
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
		return nil, fault.InvalidArgument("program", "required")
	}
	sts, err := s.statements(ctx, service.StatementsQuery{
		Program: m.GetProgram(), Partner: m.GetPartner(), Period: m.GetPeriod(), Limit: service.StatementsListMax})
	if err != nil {
		return nil, err
	}
	out, err := statementsCSV(sts)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.ExportStatementsResponse{Csv: out}), nil
}

// statementsCSV is the CSV of ExportStatements.
func statementsCSV(sts []*accruev1.Statement) (string, error) {
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
		return "", fmt.Errorf("server: writing CSV: %w", err)
	}
	return buf.String(), nil
}
