package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// linkActiveAt is the condition of a partner_links row l active at the
// time t (an SQL expression).
func linkActiveAt(t string) string {
	return `l.valid_from <= ` + t + ` AND (l.valid_until IS NULL OR ` + t + ` < l.valid_until)`
}

// activeAt is the condition of a partner_links row l active at $3.
var activeAt = linkActiveAt("$3")

// LinkParent starts partner's link to parent at from, ending at until
// when given (a link starting at the same time is replaced).
func LinkParent(ctx context.Context, q ledger.Querier, program, partner, parent string, from time.Time, until *time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from, valid_until)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (program_id, partner_id, valid_from) DO UPDATE SET parent_id = excluded.parent_id, valid_until = excluded.valid_until`,
		program, partner, parent, from, until)
	if err != nil {
		return fmt.Errorf("store: linking %s to %s: %w", partner, parent, err)
	}
	return nil
}

// ParentAt returns partner's parent through the link active at t and the
// link's end (nil when open-ended); "" without one.
func ParentAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time) (string, *time.Time, error) {
	var (
		parent string
		until  *time.Time
	)
	err := q.QueryRow(ctx, `SELECT l.parent_id, l.valid_until FROM partner_links l
		WHERE l.program_id = $1 AND l.partner_id = $2 AND `+activeAt+`
		ORDER BY l.valid_from DESC LIMIT 1`, program, partner, t).Scan(&parent, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("store: reading parent of %s: %w", partner, err)
	}
	return parent, until, nil
}

// LatestLinkAfter returns the start of partner's latest link starting
// after t; nil when none does.
func LatestLinkAfter(ctx context.Context, q ledger.Querier, program, partner string, t time.Time) (*time.Time, error) {
	var later *time.Time
	if err := q.QueryRow(ctx, `SELECT max(valid_from) FROM partner_links WHERE program_id = $1 AND partner_id = $2 AND valid_from > $3`,
		program, partner, t).Scan(&later); err != nil {
		return nil, fmt.Errorf("store: reading later links of %s: %w", partner, err)
	}
	return later, nil
}

// EndLinks ends at t partner's links active at t or later.
func EndLinks(ctx context.Context, q ledger.Querier, program, partner string, t time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE partner_links SET valid_until = $3
		WHERE program_id = $1 AND partner_id = $2 AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3)`,
		program, partner, t); err != nil {
		return fmt.Errorf("store: ending the link of %s: %w", partner, err)
	}
	return nil
}

// SetLinkEnd moves the end of partner's links active at t (or ending
// later) to until.
func SetLinkEnd(ctx context.Context, q ledger.Querier, program, partner string, until, t time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE partner_links SET valid_until = $3
		WHERE program_id = $1 AND partner_id = $2 AND valid_from <= $4 AND (valid_until IS NULL OR valid_until > $4)`,
		program, partner, until, t); err != nil {
		return fmt.Errorf("store: setting the link end of %s: %w", partner, err)
	}
	return nil
}

// chainAt walks partner_links active at $3 upward from partner $2, one
// row per level from level 1 (partner's parent), to at most $4 levels. A
// walk stops after the first partner met twice (looped), so a cycle in
// historical links ends it.
var chainAt = `
	WITH RECURSIVE chain (level, id, path, looped) AS (
		SELECT 0, $2::text, ARRAY[$2::text], false
		UNION ALL
		SELECT c.level + 1, l.parent_id, c.path || l.parent_id, l.parent_id = ANY(c.path) FROM chain c
		CROSS JOIN LATERAL (SELECT l.parent_id FROM partner_links l
			WHERE l.program_id = $1 AND l.partner_id = c.id AND ` + activeAt + `
			ORDER BY l.valid_from DESC LIMIT 1) l
		WHERE c.level < $4 AND NOT c.looped)`

// Ancestor is a partner above another, and its status.
type Ancestor struct {
	Partner, Status string
}

// UplineAt returns, in one query, partner's ancestors through the links
// active at t, nearest first, up to levels of them; a partner met twice
// (a cycle in historical links) is the last row.
func UplineAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time, levels int) ([]Ancestor, error) {
	rows, err := q.Query(ctx, chainAt+`
		SELECT c.id, p.status FROM chain c JOIN partners p ON p.program_id = $1 AND p.id = c.id
		WHERE c.level > 0 ORDER BY c.level`, program, partner, t, levels)
	if err != nil {
		return nil, fmt.Errorf("store: walking the upline of %s: %w", partner, err)
	}
	chain, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Ancestor, error) {
		var a Ancestor
		return a, row.Scan(&a.Partner, &a.Status)
	})
	if err != nil {
		return nil, fmt.Errorf("store: walking the upline of %s: %w", partner, err)
	}
	return chain, nil
}

// ChainAt returns, in one query, partner and its ancestors through the
// links active at t, partner first, at most limit of them; a partner met
// twice (a cycle) is the last.
func ChainAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, chainAt+`
		SELECT id FROM chain ORDER BY level`, program, partner, t, limit-1)
	if err != nil {
		return nil, fmt.Errorf("store: reading the chain above %s: %w", partner, err)
	}
	chain, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: reading the chain above %s: %w", partner, err)
	}
	return chain, nil
}

// Referral is a partner below another: its depth below it (1 for a
// direct referral), its parent, its status and when it registered.
type Referral struct {
	Depth                   int
	Partner, Parent, Status string
	RegisteredAt            time.Time
}

// ReferralsAt returns, in one query, up to limit partners below partner
// through the links active at t, down to depth levels, in (depth, partner)
// order after the keyset position (afterDepth, afterPartner).
func ReferralsAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time, depth, afterDepth int, afterPartner string, limit int) ([]Referral, error) {
	rows, err := q.Query(ctx, `
		WITH RECURSIVE tree (depth, partner_id, parent_id) AS (
			SELECT 1, l.partner_id, l.parent_id FROM partner_links l
			WHERE l.program_id = $1 AND l.parent_id = $2 AND `+activeAt+`
			UNION ALL
			SELECT t.depth + 1, l.partner_id, l.parent_id FROM tree t
			JOIN partner_links l ON l.program_id = $1 AND l.parent_id = t.partner_id AND `+activeAt+`
			WHERE t.depth < $4)
		SELECT t.depth, t.partner_id, t.parent_id, p.status, p.registered_at FROM tree t
		JOIN partners p ON p.program_id = $1 AND p.id = t.partner_id
		WHERE (t.depth, t.partner_id) > ($5::int, $6::text)
		ORDER BY t.depth, t.partner_id LIMIT $7`,
		program, partner, t, depth, afterDepth, afterPartner, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing referrals of %s: %w", partner, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Referral, error) {
		var r Referral
		return r, row.Scan(&r.Depth, &r.Partner, &r.Parent, &r.Status, &r.RegisteredAt)
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing referrals of %s: %w", partner, err)
	}
	return out, nil
}
