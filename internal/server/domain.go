package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/rules"
)

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

// versionAt returns the rules version in force at t and its rules
// (service.VersionAt; temporary forwarder, issue 8).
func (s *Server) versionAt(ctx context.Context, q querier, program string, t time.Time) (int32, *rules.Program, error) {
	return s.svc.VersionAt(ctx, q, program, t)
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
