package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// Partner is a row of the partners table.
type Partner struct {
	ID           string
	Code         string
	Customer     string
	Status       string
	Private      map[string]string
	RegisteredAt time.Time
}

// LoadPartner reads a partner, taking lock on its row; found is false when
// there is none.
func LoadPartner(ctx context.Context, q ledger.Querier, program, id string, lock Lock) (p Partner, found bool, err error) {
	var private []byte
	err = q.QueryRow(ctx, `SELECT id, code, customer, status, private, registered_at FROM partners
		WHERE program_id = $1 AND id = $2`+string(lock), program, id).
		Scan(&p.ID, &p.Code, &p.Customer, &p.Status, &private, &p.RegisteredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Partner{}, false, nil
	}
	if err != nil {
		return Partner{}, false, fmt.Errorf("store: loading partner %s: %w", id, err)
	}
	if err := json.Unmarshal(private, &p.Private); err != nil {
		return Partner{}, false, fmt.Errorf("store: partner %s private details: %w", id, err)
	}
	return p, true, nil
}

// Attribute finds an order's partner (SPEC §5): the partner whose referral
// code, folded to lower case, is codeKey ("" matches none); else the last
// (first, under the first-click model) click of the order's visitor or of
// any visitor tied to its customer within the window before at. The zero
// Attribution when nothing matches.
func Attribute(ctx context.Context, q ledger.Querier, program string, a rules.Attribution, codeKey, visitor, customer string, at time.Time) (affiliate.Attribution, error) {
	if codeKey != "" {
		var id string
		err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND lower(code) = $2`, program, codeKey).Scan(&id)
		if err == nil {
			return affiliate.Attribution{Partner: id, How: "partner_code"}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return affiliate.Attribution{}, fmt.Errorf("store: resolving partner code: %w", err)
		}
	}
	order, how := "DESC", "last_click"
	if a.Model == rules.ModelFirstClick {
		order, how = "ASC", "first_click"
	}
	out := affiliate.Attribution{How: how}
	err := q.QueryRow(ctx, `SELECT id, partner_id FROM clicks
		WHERE program_id = $1 AND at <= $4 AND at >= $5
		  AND (visitor = $2 OR visitor IN (SELECT visitor FROM customer_visitors WHERE program_id = $1 AND customer = $3))
		ORDER BY at `+order+`, id `+order+` LIMIT 1`,
		program, visitor, customer, at, at.Add(-a.Window)).Scan(&out.ClickID, &out.Partner)
	if errors.Is(err, pgx.ErrNoRows) {
		return affiliate.Attribution{}, nil
	}
	if err != nil {
		return affiliate.Attribution{}, fmt.Errorf("store: finding clicks: %w", err)
	}
	return out, nil
}

// UplineAt returns the first levels members of partner's upline chain by
// the links active at t, each with whether it may earn (is active). A
// cycle in historical links ends the chain.
func UplineAt(ctx context.Context, q ledger.Querier, program, partner string, t time.Time, levels int) ([]rules.UplineMember, error) {
	if levels <= 0 {
		return nil, nil
	}
	// One recursive query walks the links active at t, level by level.
	rows, err := q.Query(ctx, `
		WITH RECURSIVE chain (level, parent_id) AS (
			(SELECT 1, l.parent_id FROM partner_links l
			WHERE l.program_id = $1 AND l.partner_id = $2 AND l.valid_from <= $3 AND (l.valid_until IS NULL OR $3 < l.valid_until)
			ORDER BY l.valid_from DESC LIMIT 1)
			UNION ALL
			SELECT c.level + 1, l.parent_id FROM chain c
			CROSS JOIN LATERAL (SELECT parent_id FROM partner_links
				WHERE program_id = $1 AND partner_id = c.parent_id AND valid_from <= $3 AND (valid_until IS NULL OR $3 < valid_until)
				ORDER BY valid_from DESC LIMIT 1) l
			WHERE c.level < $4)
		SELECT c.parent_id, p.status = 'active' FROM chain c
		JOIN partners p ON p.program_id = $1 AND p.id = c.parent_id
		ORDER BY c.level`, program, partner, t, levels)
	if err != nil {
		return nil, fmt.Errorf("store: walking the upline of %s: %w", partner, err)
	}
	defer rows.Close()
	var chain []rules.UplineMember
	seen := map[string]bool{partner: true}
	for rows.Next() {
		var m rules.UplineMember
		if err := rows.Scan(&m.Partner, &m.Eligible); err != nil {
			return nil, fmt.Errorf("store: scanning the upline of %s: %w", partner, err)
		}
		if seen[m.Partner] || len(chain) == levels {
			break
		}
		seen[m.Partner] = true
		chain = append(chain, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: walking the upline of %s: %w", partner, err)
	}
	return chain, nil
}
