package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// The statements of a run of partner registrations (an import): each
// reads or writes the rows of every partner of the run at once.

// InsertPartners adds the rows of ps in one statement, each unless its id
// or code (in any case: index partners_code_lower) is taken, by a row
// before or by an earlier one of ps, and returns the rows it added, by id,
// as LoadPartner reads them.
func InsertPartners(ctx context.Context, q ledger.Querier, program string, ps []Partner) (map[string]Partner, error) {
	n := len(ps)
	ids, codes, customers, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	privates, ats := make([]string, n), make([]time.Time, n)
	for i, p := range ps {
		private, err := json.Marshal(p.Private)
		if err != nil {
			return nil, fmt.Errorf("store: encoding details of %s: %w", p.ID, err)
		}
		ids[i], codes[i], customers[i], statuses[i], privates[i], ats[i] = p.ID, p.Code, p.Customer, p.Status, string(private), p.RegisteredAt
	}
	rows, err := q.Query(ctx, `INSERT INTO partners AS p (program_id, id, code, customer, status, private, registered_at)
		SELECT $1, u.id, u.code, u.customer, u.status, u.private, u.at
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) WITH ORDINALITY AS u(id, code, customer, status, private, at, n)
		ORDER BY u.n
		ON CONFLICT DO NOTHING RETURNING `+partnerColumns, program, ids, codes, customers, statuses, privates, ats)
	if err != nil {
		return nil, fmt.Errorf("store: registering %d partners: %w", n, err)
	}
	defer rows.Close()
	out := make(map[string]Partner, n)
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, fmt.Errorf("store: registering %d partners: %w", n, err)
		}
		out[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: registering %d partners: %w", n, err)
	}
	return out, nil
}

// ExistingPartners is the set of ids the program has partners of (one
// query, a probe of each distinct id).
func ExistingPartners(ctx context.Context, q ledger.Querier, program string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT p.id FROM unnest($2::text[]) AS u(id)
		CROSS JOIN LATERAL (SELECT id FROM partners WHERE program_id = $1 AND id = u.id LIMIT 1) p`, program, distinct(ids))
	if err != nil {
		return nil, fmt.Errorf("store: reading %d partners: %w", len(ids), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: reading %d partners: %w", len(ids), err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// ParentLink is a partner's link to its parent from From, until Until
// when set.
type ParentLink struct {
	Partner, Parent string
	From            time.Time
	Until           *time.Time
}

// LinkParents is LinkParent of each of links, of distinct partners, in one
// statement; it returns each link's end as stored, by partner.
func LinkParents(ctx context.Context, q ledger.Querier, program string, links []ParentLink) (map[string]*time.Time, error) {
	n := len(links)
	partners, parents, froms, untils := make([]string, n), make([]string, n), make([]time.Time, n), make([]*time.Time, n)
	for i, l := range links {
		partners[i], parents[i], froms[i], untils[i] = l.Partner, l.Parent, l.From, l.Until
	}
	rows, err := q.Query(ctx, `INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from, valid_until)
		SELECT $1, u.partner, u.parent, u.valid_from, u.valid_until
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS u(partner, parent, valid_from, valid_until)
		ON CONFLICT (program_id, partner_id, valid_from) DO UPDATE SET parent_id = excluded.parent_id, valid_until = excluded.valid_until
		RETURNING partner_id, valid_until`, program, partners, parents, froms, untils)
	if err != nil {
		return nil, fmt.Errorf("store: linking %d partners: %w", n, err)
	}
	defer rows.Close()
	out := make(map[string]*time.Time, n)
	for rows.Next() {
		var (
			partner string
			until   *time.Time
		)
		if err := rows.Scan(&partner, &until); err != nil {
			return nil, fmt.Errorf("store: linking %d partners: %w", n, err)
		}
		out[partner] = until
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: linking %d partners: %w", n, err)
	}
	return out, nil
}
