package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// StatementsListMax bounds how many statements one export returns (and
// GetStatement reads); ListStatements pages instead.
const StatementsListMax = 10_000

// StatementEncoder encodes a statement as its stored body (JSON), amounts
// formatted with the program currency's scale. The caller owns the form
// (the API's Statement message), so a stored statement reads back as it
// was issued.
type StatementEncoder func(st affiliate.Statement, scale int32) ([]byte, error)

// EncodeStatementsWith sets how the close encodes the statements it
// writes; call it before serving. A close without it fails.
func (s *Service) EncodeStatementsWith(e StatementEncoder) { s.statements = e }

var errNoStatementEncoder = errors.New("service: no statement encoder (EncodeStatementsWith)")

// writeStatements writes the statements of period of partners (ids, in
// order) in one statement: a partner with no activity in the period and
// nothing owed gets none.
func (s *Service) writeStatements(ctx context.Context, tx pgx.Tx, journal *ledger.Program, prog *rules.Program, period string,
	ids []string, released map[string]decimal.Decimal, books map[string]affiliate.Books) error {
	if s.statements == nil {
		return errNoStatementEncoder
	}
	lines, err := batchStatementLines(ctx, tx, journal.ID, period, ids)
	if err != nil {
		return err
	}
	due, err := affiliate.DueDate(period, journal.Location, prog.DueDay)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var rows []store.StatementRow
	var events []Emitted
	for _, id := range ids {
		if !affiliate.Stated(lines[id], books[id].Closing) {
			continue // no activity and nothing owed: no statement
		}
		st := affiliate.Statement{
			Partner: id, Period: period, Status: affiliate.StatementStatus(released[id]), Released: released[id],
			DueDate: due, Books: books[id], Lines: lines[id], IssuedAt: now,
		}
		body, err := s.statements(st, journal.Scale)
		if err != nil {
			return fmt.Errorf("service: encoding statement: %w", err)
		}
		rows = append(rows, store.StatementRow{Partner: id, Status: st.Status, Released: st.Released.StringFixed(journal.Scale), Body: body})
		events = append(events, Emitted{Type: EventStatementIssued, Resource: StatementResource{Statement: st, Scale: journal.Scale}})
	}
	if err := s.emit(ctx, tx, journal.ID, events...); err != nil {
		return err
	}
	return store.InsertStatements(ctx, tx, journal.ID, period, rows, now)
}

// batchStatementLines returns, by partner, every entry booked in period on
// the partners' statement accounts, in time order.
func batchStatementLines(ctx context.Context, tx pgx.Tx, program, period string, partners []string) (map[string][]affiliate.StatementLine, error) {
	codes, owner := affiliate.StatementAccounts(partners)
	entries, err := ledger.EntriesIn(ctx, tx, program, codes, period)
	if err != nil {
		return nil, err
	}
	out := map[string][]affiliate.StatementLine{}
	for _, e := range entries {
		partner := owner[e.Account]
		out[partner] = append(out[partner], affiliate.LineOf(partner, e.Kind, e.Refs, e.Account, e.Amount, e.At.UTC(), e.TransactionID))
	}
	return out, nil
}

// StatementsQuery selects stored statements: of Partner and Period when
// not empty, ordered by period then partner, after the keyset position
// After (period, partner; nil for the start), at most Limit of them.
type StatementsQuery struct {
	Program, Partner, Period string
	After                    []string
	Limit                    int
}

// Statements reads the stored bodies of the statements q selects, as the
// close encoded them (StatementEncoder).
func (s *Service) Statements(ctx context.Context, q StatementsQuery) ([][]byte, error) {
	f := store.StatementFilter{Program: q.Program, Partner: q.Partner, Period: q.Period, Limit: q.Limit}
	if len(q.After) == 2 {
		f.After = [2]string{q.After[0], q.After[1]}
	}
	return store.StatementBodies(ctx, s.db.Pool, f)
}
