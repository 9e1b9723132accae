package service

import (
	"context"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Period is a period's state: open (no close has started), closing (with
// its partners done of total) or closed; Scale is the program currency's,
// to format Released.
type Period struct {
	store.PeriodState
	Period string
	Scale  int32
}

// Period statuses.
const (
	PeriodOpen    = "open"
	PeriodClosing = "closing"
	PeriodClosed  = "closed"
)

// GetPeriod reads period of program and the progress of its close.
func (s *Service) GetPeriod(ctx context.Context, program, period string) (Period, error) {
	if program == "" {
		return Period{}, fault.InvalidArgument("program", "required")
	}
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return Period{}, err
	}
	if _, _, err := affiliate.PeriodRange(period, journal.Location); err != nil {
		return Period{}, err
	}
	st, err := store.LoadPeriod(ctx, s.db.Pool, journal.ID, period)
	if err != nil {
		return Period{}, err
	}
	if !st.Found {
		st.Status = PeriodOpen
	}
	return Period{PeriodState: st, Period: period, Scale: journal.Scale}, nil
}
