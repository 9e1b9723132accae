package auth

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// readPrefixes mark the methods that only read.
var readPrefixes = []string{"Get", "List", "Verify", "Simulate", "Export", "Watch"}

// partnerReads are the reads a partner key may make, each about the partner
// named in the request's `partner` field.
var partnerReads = map[string]bool{
	"accrue.v1.PartnerService/GetPartner":      true,
	"accrue.v1.PartnerService/ListReferrals":   true,
	"accrue.v1.PartnerService/GetReferralLink": true,
	"accrue.v1.PeriodService/GetStatement":     true,
	"accrue.v1.PeriodService/ListStatements":   true,
	"accrue.v1.PeriodService/ExportStatements": true,
	"accrue.v1.PayoutService/ListPayouts":      true,
	"accrue.v1.TrackingService/GetStats":       true,
	"accrue.v1.LedgerService/GetBalances":      false, // by its accounts
	"accrue.v1.LedgerService/ListEntries":      false, // by its account
}

// Allow decides whether p may call procedure (as Connect names it,
// "/accrue.v1.LedgerService/GetBalances") with request msg. Procedures
// outside accrue.v1 (health, reflection) are open to every key.
func Allow(p Principal, procedure string, msg any) error {
	name := strings.TrimPrefix(procedure, "/")
	if !strings.HasPrefix(name, "accrue.v1.") {
		return nil
	}
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("%s: not a protobuf request", name)
	}
	r := m.ProtoReflect()
	if p.Program != "*" && field(r, "program") != p.Program {
		return fmt.Errorf("this key is for program %q", p.Program)
	}
	method := name[strings.LastIndexByte(name, '/')+1:]
	read := false
	for _, prefix := range readPrefixes {
		read = read || strings.HasPrefix(method, prefix)
	}
	switch p.Role {
	case RoleAdmin:
		return nil
	case RoleAuditor:
		if !read {
			return fmt.Errorf("an auditor key reads only; %s writes", method)
		}
		if flag(r, "include_private") {
			return fmt.Errorf("an auditor key does not see partners' private details")
		}
		return nil
	case RolePartner:
		return allowPartner(p, name, r)
	}
	return fmt.Errorf("unknown role %q", p.Role)
}

// allowPartner lets a partner key read what is about its own partner.
// programReads are what a partner key may read about its program as a
// whole: its rules, the program's published terms (currency, rates, the
// payout minimum), which the partner's cabinet shows, and the check of a
// document (ValidateRules), which reads nothing.
var programReads = map[string]bool{"accrue.v1.ProgramService/GetRules": true, "accrue.v1.ProgramService/ValidateRules": true}

func allowPartner(p Principal, name string, r protoreflect.Message) error {
	if programReads[name] {
		return nil
	}
	byField, ok := partnerReads[name]
	if !ok {
		return fmt.Errorf("a partner key cannot call %s", name)
	}
	own := "partner:" + p.Partner + ":"
	switch {
	case byField:
		if field(r, "partner") != p.Partner {
			return fmt.Errorf("a partner key reads partner %q only", p.Partner)
		}
	case strings.HasSuffix(name, "/ListEntries"):
		if !strings.HasPrefix(field(r, "account"), own) {
			return fmt.Errorf("a partner key reads accounts %s* only", own)
		}
	default: // GetBalances
		accounts := r.Get(r.Descriptor().Fields().ByName("accounts")).List()
		if accounts.Len() == 0 {
			return fmt.Errorf("a partner key must name its accounts (%s*)", own)
		}
		for i := range accounts.Len() {
			if !strings.HasPrefix(accounts.Get(i).String(), own) {
				return fmt.Errorf("a partner key reads accounts %s* only", own)
			}
		}
	}
	return nil
}

// field reads a string field by name; "" when the message has none.
func field(r protoreflect.Message, name protoreflect.Name) string {
	f := r.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return ""
	}
	return r.Get(f).String()
}

// flag reads a bool field by name; false when the message has none.
func flag(r protoreflect.Message, name protoreflect.Name) bool {
	f := r.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.BoolKind {
		return false
	}
	return r.Get(f).Bool()
}
