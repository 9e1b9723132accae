package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
)

// privateKeys are the partner details one may update one by one, as named
// in an update_mask ("private.email") and as stored in partners.private.
var privateKeys = []string{"email", "name", "bank_account", "bank_name"}

// updatablePaths are the update_mask paths of UpdatePartner besides
// "private" and "private.<key>".
var updatablePaths = []string{"status", "parent", "detach_parent", "parent_until"}

// partnerChange is what one UpdatePartner changes: the request with every
// field it does not name cleared (so the status and link logic reads only
// named fields), and the private details it names, with their new values
// ("" clears one).
type partnerChange struct {
	req     *accruev1.UpdatePartnerRequest
	private map[string]string
}

// changeOf reads an UpdatePartner's update_mask, or the fields it sets
// when it has none (AIP-134), into a partnerChange.
func changeOf(m *accruev1.UpdatePartnerRequest) (partnerChange, error) {
	if _, err := privateFromProto(m.GetPrivate()); err != nil {
		return partnerChange{}, err // a detail too long
	}
	paths, err := maskPaths(m)
	if err != nil {
		return partnerChange{}, err
	}
	c := partnerChange{req: &accruev1.UpdatePartnerRequest{
		Program: m.GetProgram(), IdempotencyKey: m.GetIdempotencyKey(), At: m.GetAt(), Partner: m.GetPartner(),
	}}
	values := privateValues(m.GetPrivate())
	for _, p := range paths {
		switch p {
		case "status":
			if m.GetStatus() == accruev1.PartnerStatus_PARTNER_STATUS_UNSPECIFIED {
				return partnerChange{}, fault.Invalid("status", "update_mask names status: give active or suspended")
			}
			c.req.Status = m.GetStatus()
		case "parent":
			if m.GetParent() == "" {
				return partnerChange{}, fault.Invalid("parent", "update_mask names parent: give one (detach with detach_parent)")
			}
			c.req.Parent = m.GetParent()
		case "detach_parent":
			c.req.DetachParent = m.GetDetachParent()
		case "parent_until":
			if m.GetParentUntil() == nil {
				return partnerChange{}, fault.Invalid("parent_until", "update_mask names parent_until: give one")
			}
			c.req.ParentUntil = m.GetParentUntil()
		default: // private.<key>, checked by maskPaths
			if c.private == nil {
				c.private = map[string]string{}
			}
			key := strings.TrimPrefix(p, "private.")
			c.private[key] = values[key]
		}
	}
	return c, nil
}

// maskPaths returns the paths an UpdatePartner changes, "private" expanded
// to its keys: the update_mask's, or without one the fields the request
// sets.
func maskPaths(m *accruev1.UpdatePartnerRequest) ([]string, error) {
	if m.GetUpdateMask() == nil {
		return setPaths(m), nil
	}
	var out []string
	for _, p := range m.GetUpdateMask().GetPaths() {
		switch {
		case p == "private":
			for _, k := range privateKeys {
				out = append(out, "private."+k)
			}
		case slices.Contains(updatablePaths, p),
			strings.HasPrefix(p, "private.") && slices.Contains(privateKeys, strings.TrimPrefix(p, "private.")):
			out = append(out, p)
		default:
			return nil, fault.Invalid("update_mask", "unknown path %q; paths: %s, private, private.{%s}",
				p, strings.Join(updatablePaths, ", "), strings.Join(privateKeys, ","))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// setPaths is the implied mask of a request without one: its non-empty fields.
func setPaths(m *accruev1.UpdatePartnerRequest) []string {
	var out []string
	if m.GetStatus() != accruev1.PartnerStatus_PARTNER_STATUS_UNSPECIFIED {
		out = append(out, "status")
	}
	if m.GetParent() != "" {
		out = append(out, "parent")
	}
	if m.GetDetachParent() {
		out = append(out, "detach_parent")
	}
	if m.GetParentUntil() != nil {
		out = append(out, "parent_until")
	}
	values := privateValues(m.GetPrivate())
	for _, k := range privateKeys {
		if values[k] != "" {
			out = append(out, "private."+k)
		}
	}
	return out
}

// privateValues maps a PartnerPrivate to its keys' values.
func privateValues(p *accruev1.PartnerPrivate) map[string]string {
	return map[string]string{"email": p.GetEmail(), "name": p.GetName(), "bank_account": p.GetBankAccount(), "bank_name": p.GetBankName()}
}

// updatePrivate applies the change's private details to the partner's
// stored ones (its row is locked): named keys take their new value, an
// empty one is removed, the others stay.
func (c partnerChange) updatePrivate(ctx context.Context, tx pgx.Tx, program, partnerID string) error {
	if len(c.private) == 0 {
		return nil
	}
	var raw []byte
	if err := tx.QueryRow(ctx, `SELECT private FROM partners WHERE program_id = $1 AND id = $2`, program, partnerID).Scan(&raw); err != nil {
		return fmt.Errorf("server: reading details of %s: %w", partnerID, err)
	}
	stored := map[string]string{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &stored); err != nil {
			return fmt.Errorf("server: reading details of %s: %w", partnerID, err)
		}
	}
	for k, v := range c.private {
		if v == "" {
			delete(stored, k)
		} else {
			stored[k] = v
		}
	}
	b, _ := json.Marshal(stored)
	if _, err := tx.Exec(ctx, `UPDATE partners SET private = $3 WHERE program_id = $1 AND id = $2`, program, partnerID, b); err != nil {
		return fmt.Errorf("server: updating details of %s: %w", partnerID, err)
	}
	return nil
}
