package server

import (
	"slices"
	"strings"
	"time"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// privateKeys are the partner details one may update one by one, as named
// in an update_mask ("private.email") and as stored in partners.private.
var privateKeys = affiliate.PrivateKeys

// updatablePaths are the update_mask paths of UpdatePartner besides
// "private" and "private.<key>".
var updatablePaths = []string{"status", "parent", "detach_parent", "parent_until"}

// changeOf reads an UpdatePartner's update_mask, or the fields it sets
// when it has none (AIP-134), into the change it makes from at: only the
// fields it names, and the private details it names with their new values
// ("" clears one).
func changeOf(m *accruev1.UpdatePartnerRequest, at time.Time) (service.PartnerChange, error) {
	if _, err := privateFromProto(m.GetPrivate()); err != nil {
		return service.PartnerChange{}, err // a detail too long
	}
	paths, err := maskPaths(m)
	if err != nil {
		return service.PartnerChange{}, err
	}
	c := service.PartnerChange{Program: m.GetProgram(), Partner: m.GetPartner(), At: at}
	values := privateValues(m.GetPrivate())
	for _, p := range paths {
		if err := applyPath(&c, p, m, values); err != nil {
			return service.PartnerChange{}, err
		}
	}
	if c.Parent != "" && c.DetachParent {
		return service.PartnerChange{}, fault.InvalidArgument("parent", "give a parent or detach_parent, not both")
	}
	return c, nil
}

// applyPath copies the field of m that path names into c.
func applyPath(c *service.PartnerChange, path string, m *accruev1.UpdatePartnerRequest, values map[string]string) error {
	switch path {
	case "status":
		switch m.GetStatus() {
		case accruev1.PartnerStatus_PARTNER_STATUS_UNSPECIFIED:
			return fault.InvalidArgument("status", "update_mask names status: give active or suspended")
		case accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE:
			c.Status = affiliate.StatusActive
		case accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED:
			c.Status = affiliate.StatusSuspended
		}
	case "parent":
		if m.GetParent() == "" {
			return fault.InvalidArgument("parent", "update_mask names parent: give one (detach with detach_parent)")
		}
		c.Parent = m.GetParent()
	case "detach_parent":
		c.DetachParent = m.GetDetachParent()
	case "parent_until":
		until, err := optionalTime("parent_until", m.GetParentUntil())
		if err != nil {
			return err
		}
		if until == nil {
			return fault.InvalidArgument("parent_until", "update_mask names parent_until: give one")
		}
		c.ParentUntil = until
	default: // private.<key>, checked by maskPaths
		if c.Private == nil {
			c.Private = map[string]string{}
		}
		key := strings.TrimPrefix(path, "private.")
		c.Private[key] = values[key]
	}
	return nil
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
			return nil, fault.InvalidArgument("update_mask", "unknown path %q; paths: %s, private, private.{%s}",
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
