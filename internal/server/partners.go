package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// partnerService serves accrue.v1.PartnerService.
type partnerService struct{ *Server }

// Limits on partners.
const (
	MaxIDLen         = 64
	MaxCodeLen       = 32
	MaxReferralDepth = 10
	MaxPrivateLen    = 512
	generatedCodeLen = 8
	// generatedCodeAttemptsMax bounds how often a taken generated referral
	// code is drawn again.
	generatedCodeAttemptsMax = 5
)

// checkID accepts URL-safe ids: letters, digits, '-', '_' and '.'.
func checkID(field, id string, maxLen int) error {
	if id == "" || len(id) > maxLen {
		return fault.Invalid(field, "required, 1 to %d characters", maxLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fault.Invalid(field, "%q has %q; use letters, digits, '-', '_' and '.'", id, r)
		}
	}
	return nil
}

// generateCode returns a random URL-safe referral code.
func generateCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, generatedCodeLen)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("server: reading random bytes: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func privateFromProto(p *accruev1.PartnerPrivate) (map[string]string, error) {
	out := map[string]string{}
	if p == nil {
		return out, nil
	}
	for k, v := range map[string]string{"email": p.GetEmail(), "name": p.GetName(), "bank_account": p.GetBankAccount(), "bank_name": p.GetBankName()} {
		if len(v) > MaxPrivateLen {
			return nil, fault.Invalid("private."+k, "at most %d characters", MaxPrivateLen)
		}
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

// RegisterPartner adds a partner with its referral code (generated when
// none is given), its accounts and, when given, its parent link.
func (s *partnerService) RegisterPartner(ctx context.Context, req *connect.Request[accruev1.RegisterPartnerRequest]) (*connect.Response[accruev1.RegisterPartnerResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkID("partner", m.GetPartner(), MaxIDLen); err != nil {
		return nil, err
	}
	if m.GetCode() != "" {
		if err := checkID("code", m.GetCode(), MaxCodeLen); err != nil {
			return nil, err
		}
	}
	if err := checkOptionalRef("customer", m.GetCustomer()); err != nil {
		return nil, err
	}
	if m.GetParent() == m.GetPartner() {
		return nil, fault.Invalid("parent", "a partner cannot be its own parent")
	}
	private, err := privateFromProto(m.GetPrivate())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.RegisterPartnerResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, _ []byte) error {
		if _, err := ledger.LoadProgram(ctx, tx, m.GetProgram()); err != nil {
			return err
		}
		if m.GetParent() != "" {
			if _, err := loadPartner(ctx, tx, m.GetProgram(), m.GetParent(), "parent", false); err != nil {
				return err
			}
		}
		if err := insertPartner(ctx, tx, m.GetProgram(), m.GetPartner(), m.GetCode(), m.GetCustomer(), private, at); err != nil {
			return err
		}
		if m.GetParent() != "" {
			if err := linkParent(ctx, tx, m.GetProgram(), m.GetPartner(), m.GetParent(), at, m.GetParentUntil()); err != nil {
				return err
			}
		}
		for _, kind := range affiliate.PartnerAccountKinds {
			if _, err := ledger.OpenAccount(ctx, tx, m.GetProgram(), affiliate.PartnerAccount(m.GetPartner(), kind), ledger.Credit, 1); err != nil {
				return err
			}
		}
		resp.Partner, err = s.partnerView(ctx, tx, m.GetProgram(), m.GetPartner(), at, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// insertPartner adds an active partner's row with referral code code, or
// with a generated code when code is empty; a generated code that is taken
// is drawn again, up to generatedCodeAttemptsMax times. Codes are unique in
// any case (index partners_code_lower): Bob is taken when BOB exists.
// Fault AlreadyExists names the partner when its id is taken, else the code.
func insertPartner(ctx context.Context, tx pgx.Tx, program, id, code, customer string, private map[string]string, at time.Time) error {
	privateJSON, _ := json.Marshal(private)
	generate := code == ""
	for attempt := 1; ; attempt++ {
		if generate {
			code = generateCode()
		}
		tag, err := tx.Exec(ctx, `INSERT INTO partners (program_id, id, code, customer, status, private, registered_at)
			VALUES ($1, $2, $3, $4, 'active', $5, $6) ON CONFLICT DO NOTHING`,
			program, id, code, customer, privateJSON, at)
		if err != nil {
			return fmt.Errorf("server: registering partner: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partners WHERE program_id = $1 AND id = $2)`,
			program, id).Scan(&taken); err != nil {
			return fmt.Errorf("server: reading partner %s: %w", id, err)
		}
		if taken {
			return fault.Exists("partner", "partner %q exists", id)
		}
		if !generate || attempt == generatedCodeAttemptsMax {
			return fault.Exists("code", "referral code %q is taken (codes match in any case)", code)
		}
	}
}

// linkParent starts a parent link at `from`, ending at until when given.
func linkParent(ctx context.Context, tx pgx.Tx, program, partnerID, parent string, from time.Time, until *timestamppb.Timestamp) error {
	var end *time.Time
	if until != nil {
		t, _, err := readTime("parent_until", until)
		if err != nil {
			return err
		}
		if !t.After(from) {
			return fault.Invalid("parent_until", "must be after the link starts (%s)", from.Format(time.RFC3339))
		}
		end = &t
	}
	_, err := tx.Exec(ctx, `INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from, valid_until)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (program_id, partner_id, valid_from) DO UPDATE SET parent_id = excluded.parent_id, valid_until = excluded.valid_until`,
		program, partnerID, parent, from, end)
	if err != nil {
		return fmt.Errorf("server: linking %s to %s: %w", partnerID, parent, err)
	}
	return nil
}

// parentAt returns the partner's parent through the link active at t.
func parentAt(ctx context.Context, q querier, program, partnerID string, t time.Time) (string, *time.Time, error) {
	var (
		parent string
		until  *time.Time
	)
	err := q.QueryRow(ctx, `SELECT parent_id, valid_until FROM partner_links
		WHERE program_id = $1 AND partner_id = $2 AND valid_from <= $3 AND (valid_until IS NULL OR $3 < valid_until)
		ORDER BY valid_from DESC LIMIT 1`, program, partnerID, t).Scan(&parent, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("server: reading parent of %s: %w", partnerID, err)
	}
	return parent, until, nil
}

// uplineAt walks up to levels parent links active at t. A suspended member
// stays in the chain but is not eligible.
func uplineAt(ctx context.Context, q querier, program, partnerID string, t time.Time, levels int) ([]rules.UplineMember, error) {
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
		ORDER BY c.level`, program, partnerID, t, levels)
	if err != nil {
		return nil, fmt.Errorf("server: walking the upline of %s: %w", partnerID, err)
	}
	defer rows.Close()
	var chain []rules.UplineMember
	seen := map[string]bool{partnerID: true}
	for rows.Next() {
		var m rules.UplineMember
		if err := rows.Scan(&m.Partner, &m.Eligible); err != nil {
			return nil, fmt.Errorf("server: scanning the upline of %s: %w", partnerID, err)
		}
		if seen[m.Partner] || len(chain) == levels { // a cycle in historical links ends the chain
			break
		}
		seen[m.Partner] = true
		chain = append(chain, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server: walking the upline of %s: %w", partnerID, err)
	}
	return chain, nil
}

// UpdatePartner changes a partner's status, private details or parent link
// (a new parent, a detachment or a new end of the current link) from `at`:
// only what its update_mask names, or without one what it sets
// (partner_update.go).
func (s *partnerService) UpdatePartner(ctx context.Context, req *connect.Request[accruev1.UpdatePartnerRequest]) (*connect.Response[accruev1.UpdatePartnerResponse], error) {
	at, err := s.at(req.Msg.GetAt())
	if err != nil {
		return nil, err
	}
	change, err := changeOf(req.Msg)
	if err != nil {
		return nil, err
	}
	m := change.req
	if m.GetParent() != "" && m.GetDetachParent() {
		return nil, fault.Invalid("parent", "give a parent or detach_parent, not both")
	}
	resp := &accruev1.UpdatePartnerResponse{}
	replayed, err := s.exec(ctx, req.Msg, resp, func(tx pgx.Tx, _ []byte) error {
		if m.GetParent() != "" {
			// Re-linking reads the whole chain above the new parent; an
			// exclusive program lock keeps two re-links from each passing
			// the cycle check against the other's old chain.
			if err := lockProgramExclusive(ctx, tx, m.GetProgram()); err != nil {
				return err
			}
		}
		p, err := loadPartner(ctx, tx, m.GetProgram(), m.GetPartner(), "partner", true)
		if err != nil {
			return err
		}
		switch m.GetStatus() {
		case accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE, accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED:
			status := "active"
			if m.GetStatus() == accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED {
				status = "suspended"
			}
			if _, err := tx.Exec(ctx, `UPDATE partners SET status = $3 WHERE program_id = $1 AND id = $2`, m.GetProgram(), p.ID, status); err != nil {
				return fmt.Errorf("server: updating status: %w", err)
			}
		}
		if err := change.updatePrivate(ctx, tx, m.GetProgram(), p.ID); err != nil {
			return err
		}
		if err := s.relink(ctx, tx, m, p.ID, at); err != nil {
			return err
		}
		resp.Partner, err = s.partnerView(ctx, tx, m.GetProgram(), p.ID, at, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// relink applies a parent change, detachment or new end date at `at`.
func (s *Server) relink(ctx context.Context, tx pgx.Tx, m *accruev1.UpdatePartnerRequest, id string, at time.Time) error {
	program := m.GetProgram()
	current, _, err := parentAt(ctx, tx, program, id, at)
	if err != nil {
		return err
	}
	switch {
	case m.GetDetachParent() || m.GetParent() != "":
		// Links only go forward in time: a change dated before a later link
		// would leave two links active at once.
		var later *time.Time
		if err := tx.QueryRow(ctx, `SELECT max(valid_from) FROM partner_links WHERE program_id = $1 AND partner_id = $2 AND valid_from > $3`,
			program, id, at).Scan(&later); err != nil {
			return fmt.Errorf("server: reading later links of %s: %w", id, err)
		}
		if later != nil {
			return fault.Precondition("at", "partner %s has a parent link from %s; parent changes must come after it",
				id, later.UTC().Format(time.RFC3339))
		}
		if m.GetParent() != "" {
			if m.GetParent() == id {
				return fault.Invalid("parent", "a partner cannot be its own parent")
			}
			if _, err := loadPartner(ctx, tx, program, m.GetParent(), "parent", false); err != nil {
				return err
			}
			if err := checkNoCycle(ctx, tx, program, id, m.GetParent(), at); err != nil {
				return err
			}
		}
		if current != "" {
			if _, err := tx.Exec(ctx, `UPDATE partner_links SET valid_until = $3
				WHERE program_id = $1 AND partner_id = $2 AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3)`,
				program, id, at); err != nil {
				return fmt.Errorf("server: ending link: %w", err)
			}
		}
		if m.GetParent() != "" {
			return linkParent(ctx, tx, program, id, m.GetParent(), at, m.GetParentUntil())
		}
	case m.GetParentUntil() != nil:
		until, _, err := readTime("parent_until", m.GetParentUntil())
		if err != nil {
			return err
		}
		if !until.After(at) {
			return fault.Invalid("parent_until", "must be after the change takes effect (%s)", at.Format(time.RFC3339))
		}
		if current == "" {
			return fault.Precondition("parent_until", "partner %s has no parent", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE partner_links SET valid_until = $3
			WHERE program_id = $1 AND partner_id = $2 AND valid_from <= $4 AND (valid_until IS NULL OR valid_until > $4)`,
			program, id, until, at); err != nil {
			return fmt.Errorf("server: setting link end: %w", err)
		}
	}
	return nil
}

// checkNoCycle refuses parent as id's parent when id is among parent's
// ancestors (at t), including parent itself.
func checkNoCycle(ctx context.Context, q querier, program, id, parent string, t time.Time) error {
	cur := parent
	for depth := 0; cur != ""; depth++ {
		if cur == id {
			return fault.Invalid("parent", "%s is below %s: the link would make a cycle", parent, id)
		}
		if depth > 10000 {
			return fmt.Errorf("server: parent chain of %s is too deep", parent)
		}
		next, _, err := parentAt(ctx, q, program, cur, t)
		if err != nil {
			return err
		}
		cur = next
	}
	return nil
}

// partnerView renders a partner as seen at t.
func (s *Server) partnerView(ctx context.Context, q querier, program, id string, t time.Time, withPrivate bool) (*accruev1.Partner, error) {
	p, err := loadPartner(ctx, q, program, id, "partner", false)
	if err != nil {
		return nil, err
	}
	out := &accruev1.Partner{Id: p.ID, Code: p.Code, Customer: p.Customer, RegisteredAt: stamp(p.RegisteredAt),
		Status: accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE}
	if p.Status == "suspended" {
		out.Status = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
	}
	parent, until, err := parentAt(ctx, q, program, id, t)
	if err != nil {
		return nil, err
	}
	out.Parent = parent
	if until != nil {
		out.ParentUntil = stamp(*until)
	}
	volume, err := ledger.AccountBalance(ctx, q, program, affiliate.PartnerAccount(id, affiliate.Sales))
	if err != nil {
		return nil, err
	}
	_, prog, err := s.versionAt(ctx, q, program, t)
	if err != nil {
		return nil, err
	}
	out.Volume = prog.Format(volume)
	if tier := prog.TierFor(volume); tier != nil {
		out.Tier = tier.Name
	}
	if withPrivate {
		out.Private = &accruev1.PartnerPrivate{Email: p.Private["email"], Name: p.Private["name"],
			BankAccount: p.Private["bank_account"], BankName: p.Private["bank_name"]}
	}
	return out, nil
}

// GetPartner returns a partner as seen now, private details on request.
func (s *partnerService) GetPartner(ctx context.Context, req *connect.Request[accruev1.GetPartnerRequest]) (*connect.Response[accruev1.GetPartnerResponse], error) {
	p, err := s.partnerView(ctx, s.db.Pool, req.Msg.GetProgram(), req.Msg.GetPartner(), s.clock.Now(), req.Msg.GetIncludePrivate())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetPartnerResponse{Partner: p}), nil
}

// ListPartners pages through a program's partners in id order.
func (s *partnerService) ListPartners(ctx context.Context, req *connect.Request[accruev1.ListPartnersRequest]) (*connect.Response[accruev1.ListPartnersResponse], error) {
	pg, err := readPage(req.Msg, 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pg.after != nil {
		after = pg.after[0]
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT id FROM partners WHERE program_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		req.Msg.GetProgram(), after, pg.limit)
	if err != nil {
		return nil, fmt.Errorf("server: listing partners: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("server: listing partners: %w", err)
	}
	resp := &accruev1.ListPartnersResponse{}
	for _, id := range ids {
		p, err := s.partnerView(ctx, s.db.Pool, req.Msg.GetProgram(), id, s.clock.Now(), false)
		if err != nil {
			return nil, err
		}
		resp.Partners = append(resp.Partners, p)
	}
	if len(ids) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, ids[len(ids)-1])
	}
	return connect.NewResponse(resp), nil
}
