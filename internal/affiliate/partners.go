package affiliate

import (
	"fmt"
	"maps"
	"strings"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/rules"
)

// Partner statuses (SPEC §5), as stored.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Eligible reports whether a partner of status earns: a suspended partner
// gets no commission, no upline share, no release, no payout, no spend.
func Eligible(status string) bool { return status == StatusActive }

// SelfReferral reports whether an order of customer attributed to a
// partner tied to partnerCustomer is the partner's own purchase, which
// earns nothing unless the rules allow self-referral.
func SelfReferral(partnerCustomer, customer string, allowed bool) bool {
	return partnerCustomer != "" && partnerCustomer == customer && !allowed
}

// ReferralDepthMax is the deepest a referral listing goes.
const ReferralDepthMax = 10

// ReferralDepth is the depth a referral listing asked for depthMax walks:
// depthMax when it is 1 to ReferralDepthMax, else ReferralDepthMax.
func ReferralDepth(depthMax int) int {
	if depthMax <= 0 || depthMax > ReferralDepthMax {
		return ReferralDepthMax
	}
	return depthMax
}

// ChainDepthMax bounds the chain above a new parent that the cycle check
// reads (ChainLenMax members, the parent included).
const ChainDepthMax = 10000

// ChainLenMax is the most members of a chain CheckNoCycle is given: the
// new parent and ChainDepthMax ancestors.
const ChainLenMax = ChainDepthMax + 1

// CheckNoCycle refuses parent as partner's parent when partner is in
// parent's chain as linked at the change: chain is parent first, then its
// ancestors nearest first (at most ChainLenMax), a member met twice ending
// it. A chain that loops or reaches ChainLenMax without meeting partner is
// an error: the links are broken, not the request.
func CheckNoCycle(partner, parent string, chain []string) error {
	seen := make(map[string]bool, len(chain))
	for _, m := range chain {
		if m == partner {
			return fault.InvalidArgument("parent", "%s is below %s: the link would make a cycle", parent, partner)
		}
		if seen[m] {
			return fmt.Errorf("affiliate: the parent chain of %s loops at %s", parent, m)
		}
		seen[m] = true
	}
	if len(chain) >= ChainLenMax {
		return fmt.Errorf("affiliate: parent chain of %s is too deep", parent)
	}
	return nil
}

// Upline is the chain an order of partner is shared with: the ancestors
// read (nearest first), at most levels of them, ending before the first
// one met twice or partner itself (a cycle in historical links).
func Upline(partner string, ancestors []rules.UplineMember, levels int) []rules.UplineMember {
	var chain []rules.UplineMember
	seen := map[string]bool{partner: true}
	for _, m := range ancestors {
		if seen[m.Partner] || len(chain) == levels {
			break
		}
		seen[m.Partner] = true
		chain = append(chain, m)
	}
	return chain
}

// PrivateKeys are a partner's private details, as stored and as named in
// an update mask ("private.<key>").
var PrivateKeys = []string{"email", "name", "bank_account", "bank_name"}

// MergePrivate applies changed private details to stored ones: a key with
// a value takes it, a key with "" is removed, the others stay.
func MergePrivate(stored, changed map[string]string) map[string]string {
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range changed {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// URLSafe returns the first rune of s outside letters, digits, '-', '_'
// and '.' (ids and referral codes are URL-safe); ok when there is none.
func URLSafe(s string) (bad rune, ok bool) {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r, false
		}
	}
	return 0, true
}

// CodeLenMax bounds referral codes.
const CodeLenMax = 32

// CodeKey is a referral code folded to lower case, as the unique index
// partners_code_lower holds it: codes are unique and matched
// case-insensitively (SPEC §5). ok is false for a string that no code can
// equal (codes are URL-safe ASCII of 1 to CodeLenMax characters), which
// then matches no partner without Unicode case folding making it equal to
// one.
func CodeKey(s string) (key string, ok bool) {
	if _, safe := URLSafe(s); !safe || s == "" || len(s) > CodeLenMax {
		return "", false
	}
	return strings.ToLower(s), true
}

// Attribution methods of an order (SPEC §5), as stored.
const (
	ByPartnerCode = "partner_code"
	ByLastClick   = "last_click"
	ByFirstClick  = "first_click"
	// ByLead is an order paid with a partner-submitted lead's id (issue 11).
	ByLead = "lead"
)

// ClickAttribution is how the rules attribute an order by clicks: by the
// first click in the window or the last, and the method's name.
func ClickAttribution(prog *rules.Program) (first bool, how string) {
	if prog.Attribution.Model == rules.ModelFirstClick {
		return true, ByFirstClick
	}
	return false, ByLastClick
}

// ChangedPrivate lists the private keys (in PrivateKeys order) whose value
// differs between before and after; a missing key is "".
func ChangedPrivate(before, after map[string]string) []string {
	var out []string
	for _, k := range PrivateKeys {
		if before[k] != after[k] {
			out = append(out, k)
		}
	}
	return out
}
