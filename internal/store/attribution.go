package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

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
