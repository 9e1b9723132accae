package service

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// StatementDoc is what a statement document prints beyond the statement:
// the program's currency, the payout minimum its close applied and the
// partner's contact name.
type StatementDoc struct {
	// Body is the stored statement (StatementEncoder's bytes).
	Body     []byte
	Currency string
	Scale    int32
	// Minimum is the payout minimum of the rules in force at the period's
	// last instant, the one the close applied.
	Minimum decimal.Decimal
	// Name is the partner's contact name; "" when it has none.
	Name string
}

// StatementDocument reads one partner's statement for period with what a
// document of it prints; fault NotFound on period when there is none.
func (s *Service) StatementDocument(ctx context.Context, program, partner, period string) (StatementDoc, error) {
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return StatementDoc{}, err
	}
	_, end, err := affiliate.PeriodRange(period, journal.Location)
	if err != nil {
		return StatementDoc{}, err
	}
	bodies, err := store.StatementBodies(ctx, s.db.Pool, store.StatementFilter{Program: program, Partner: partner, Period: period, Limit: 1})
	if err != nil {
		return StatementDoc{}, err
	}
	if len(bodies) == 0 {
		return StatementDoc{}, fault.NotFound("period", "no statement of partner %q for %s", partner, period)
	}
	_, prog, err := s.VersionAt(ctx, s.db.Pool, program, end.Add(-time.Microsecond))
	if err != nil {
		return StatementDoc{}, err
	}
	p, err := LoadPartner(ctx, s.db.Pool, program, partner, "partner", store.NoLock)
	if err != nil {
		return StatementDoc{}, err
	}
	return StatementDoc{Body: bodies[0], Currency: journal.Currency, Scale: journal.Scale,
		Minimum: prog.PayoutMinimum, Name: p.Private["name"]}, nil
}
