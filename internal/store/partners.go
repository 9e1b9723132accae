package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Lock is the row lock a read takes.
type Lock int

// Row locks.
const (
	NoLock Lock = iota
	// ForUpdate locks the row until commit: commands that check or change
	// what hangs off it (a partner's balances) run one at a time.
	ForUpdate
	// ForShare keeps the row from changing until commit.
	ForShare
)

// clause is the SQL suffix of the lock.
func (l Lock) clause() string {
	switch l {
	case ForUpdate:
		return ` FOR UPDATE`
	case ForShare:
		return ` FOR SHARE`
	}
	return ""
}

// Partner is a row of the partners table.
type Partner struct {
	ID           string
	Code         string
	Customer     string
	Status       string // affiliate.StatusActive or StatusSuspended
	Private      map[string]string
	RegisteredAt time.Time
}

// partnerColumns are the columns scanPartner reads, of partners p.
const partnerColumns = `p.id, p.code, p.customer, p.status, p.private, p.registered_at`

func scanPartner(row pgx.Row, extra ...any) (Partner, error) {
	var (
		p       Partner
		private []byte
	)
	if err := row.Scan(append([]any{&p.ID, &p.Code, &p.Customer, &p.Status, &private, &p.RegisteredAt}, extra...)...); err != nil {
		return Partner{}, err
	}
	if err := json.Unmarshal(private, &p.Private); err != nil {
		return Partner{}, fmt.Errorf("store: partner %s private details: %w", p.ID, err)
	}
	return p, nil
}

// LoadPartner reads a partner, taking lock on its row; found is false when
// there is none.
func LoadPartner(ctx context.Context, q ledger.Querier, program, id string, lock Lock) (p Partner, found bool, err error) {
	p, err = scanPartner(q.QueryRow(ctx, `SELECT `+partnerColumns+` FROM partners p WHERE p.program_id = $1 AND p.id = $2`+lock.clause(),
		program, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Partner{}, false, nil
	}
	if err != nil {
		return Partner{}, false, fmt.Errorf("store: loading partner %s: %w", id, err)
	}
	return p, true, nil
}

// InsertPartner adds p's row unless its id or code (in any case: index
// partners_code_lower) is taken; it reports whether it did.
func InsertPartner(ctx context.Context, q ledger.Querier, program string, p Partner) (bool, error) {
	private, err := json.Marshal(p.Private)
	if err != nil {
		return false, fmt.Errorf("store: encoding details of %s: %w", p.ID, err)
	}
	tag, err := q.Exec(ctx, `INSERT INTO partners (program_id, id, code, customer, status, private, registered_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		program, p.ID, p.Code, p.Customer, p.Status, private, p.RegisteredAt)
	if err != nil {
		return false, fmt.Errorf("store: registering partner %s: %w", p.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PartnerExists reports whether the program has a partner id.
func PartnerExists(ctx context.Context, q ledger.Querier, program, id string) (bool, error) {
	var taken bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partners WHERE program_id = $1 AND id = $2)`,
		program, id).Scan(&taken); err != nil {
		return false, fmt.Errorf("store: reading partner %s: %w", id, err)
	}
	return taken, nil
}

// SetPartnerStatus stores a partner's status.
func SetPartnerStatus(ctx context.Context, q ledger.Querier, program, id, status string) error {
	if _, err := q.Exec(ctx, `UPDATE partners SET status = $3 WHERE program_id = $1 AND id = $2`, program, id, status); err != nil {
		return fmt.Errorf("store: updating the status of %s: %w", id, err)
	}
	return nil
}

// SetPartnerPrivate stores a partner's private details.
func SetPartnerPrivate(ctx context.Context, q ledger.Querier, program, id string, private map[string]string) error {
	b, err := json.Marshal(private)
	if err != nil {
		return fmt.Errorf("store: encoding details of %s: %w", id, err)
	}
	if _, err := q.Exec(ctx, `UPDATE partners SET private = $3 WHERE program_id = $1 AND id = $2`, program, id, b); err != nil {
		return fmt.Errorf("store: updating details of %s: %w", id, err)
	}
	return nil
}

// PartnerByCodeOrID resolves a referral code (first, by its lower-case
// key) or a partner id (exactly); "" when neither matches. key is the code
// folded as partners_code_lower holds it ("" matches no code).
func PartnerByCodeOrID(ctx context.Context, q ledger.Querier, program, key, id string) (string, error) {
	var found string
	err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND (lower(code) = $2 OR id = $3)
		ORDER BY (lower(code) = $2) DESC LIMIT 1`, program, key, id).Scan(&found)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: resolving partner %q: %w", id, err)
	}
	return found, nil
}

// PartnerByCode returns the partner whose referral code folds to key; ""
// when none does.
func PartnerByCode(ctx context.Context, q ledger.Querier, program, key string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM partners WHERE program_id = $1 AND lower(code) = $2`, program, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: resolving partner code: %w", err)
	}
	return id, nil
}

// PartnerRow is a partner with its parent link at some time.
type PartnerRow struct {
	Partner
	// Parent is "" without a link at that time; ParentUntil is the link's
	// end, nil when open-ended.
	Parent      string
	ParentUntil *time.Time
}

// ListPartners returns, in one query, up to limit partners after id
// `after` in id order, each with its parent link active at t.
func ListPartners(ctx context.Context, q ledger.Querier, program, after string, limit int, t time.Time) ([]PartnerRow, error) {
	rows, err := q.Query(ctx, `SELECT `+partnerColumns+`, COALESCE(l.parent_id, ''), l.valid_until
		FROM partners p
		LEFT JOIN LATERAL (SELECT parent_id, valid_until FROM partner_links
			WHERE program_id = p.program_id AND partner_id = p.id AND valid_from <= $4 AND (valid_until IS NULL OR $4 < valid_until)
			ORDER BY valid_from DESC LIMIT 1) l ON true
		WHERE p.program_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3`, program, after, limit, t)
	if err != nil {
		return nil, fmt.Errorf("store: listing partners: %w", err)
	}
	defer rows.Close()
	var out []PartnerRow
	for rows.Next() {
		var r PartnerRow
		if r.Partner, err = scanPartner(rows, &r.Parent, &r.ParentUntil); err != nil {
			return nil, fmt.Errorf("store: listing partners: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing partners: %w", err)
	}
	return out, nil
}
