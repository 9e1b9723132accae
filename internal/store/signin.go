package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Grant is who a sign-in link or a session speaks for: a role ("admin" or
// "partner"), its program ("*" for every program) and, for a partner, its
// partner id.
type Grant struct {
	Role, Program, Partner string
	// ExpiresAt is when the link or session stops working.
	ExpiresAt time.Time
}

// InsertSignInLink stores a new sign-in link under the SHA-256 of its id.
func InsertSignInLink(ctx context.Context, q ledger.Querier, idHash []byte, g Grant, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO signin_links (id_hash, program_id, role, partner_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, idHash, g.Program, g.Role, g.Partner, now, g.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: inserting a sign-in link: %w", err)
	}
	return nil
}

// ConsumeSignInLink marks a link used and returns its grant; false when
// there is no such link, it was used already or it has expired by now. One
// conditional UPDATE, so two exchanges of one link cannot both succeed.
func ConsumeSignInLink(ctx context.Context, q ledger.Querier, idHash []byte, now time.Time) (Grant, bool, error) {
	var g Grant
	err := q.QueryRow(ctx, `UPDATE signin_links SET consumed_at = $2
		WHERE id_hash = $1 AND consumed_at IS NULL AND expires_at > $2
		RETURNING role, program_id, partner_id, expires_at`, idHash, now).Scan(&g.Role, &g.Program, &g.Partner, &g.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, false, nil
	}
	if err != nil {
		return Grant{}, false, fmt.Errorf("store: consuming a sign-in link: %w", err)
	}
	return g, true, nil
}

// InsertSession stores a new session under the SHA-256 of its id.
func InsertSession(ctx context.Context, q ledger.Querier, idHash []byte, g Grant, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO portal_sessions (id_hash, program_id, role, partner_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, idHash, g.Program, g.Role, g.Partner, now, g.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: inserting a session: %w", err)
	}
	return nil
}

// LoadSession returns a live session's grant; false when there is none,
// it was signed out or it has expired by now.
func LoadSession(ctx context.Context, q ledger.Querier, idHash []byte, now time.Time) (Grant, bool, error) {
	var g Grant
	err := q.QueryRow(ctx, `SELECT role, program_id, partner_id, expires_at FROM portal_sessions
		WHERE id_hash = $1 AND signed_out_at IS NULL AND expires_at > $2`, idHash, now).Scan(&g.Role, &g.Program, &g.Partner, &g.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, false, nil
	}
	if err != nil {
		return Grant{}, false, fmt.Errorf("store: loading a session: %w", err)
	}
	return g, true, nil
}

// EndSession signs a session out; ending an unknown or ended one does
// nothing.
func EndSession(ctx context.Context, q ledger.Querier, idHash []byte, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE portal_sessions SET signed_out_at = $2 WHERE id_hash = $1 AND signed_out_at IS NULL`, idHash, now); err != nil {
		return fmt.Errorf("store: ending a session: %w", err)
	}
	return nil
}
