package auth

import (
	"context"
	"strings"
)

// partnerPortal are the portal's calls a partner may make (issue 11), each
// about the partner named in the request's `partner` field: its statement
// PDFs, its leads, its settings and the materials shown to it. They join
// partnerReads at start.
var partnerPortal = map[string]bool{
	"accrue.v1.PortalService/GetStatementPDF":       true,
	"accrue.v1.PortalService/SubmitLead":            true,
	"accrue.v1.PortalService/ListLeads":             true,
	"accrue.v1.PortalService/UpdateSettings":        true,
	"accrue.v1.PortalService/ListSettingsChanges":   true,
	"accrue.v1.ProductService/ListPartnerMaterials": true,
}

func init() {
	for name, byField := range partnerPortal {
		partnerReads[name] = byField
	}
}

type authenticatedKey struct{}

// WithAuthenticated marks ctx as authenticated as p by something other
// than a bearer token (a portal session) that has also authorized the
// call with Allow; Interceptor lets such calls through.
func WithAuthenticated(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, authenticatedKey{}, p)
}

// Authenticated returns the principal WithAuthenticated put in ctx.
func Authenticated(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(authenticatedKey{}).(Principal)
	return p, ok
}

// IsRead reports whether procedure only reads (Get*, List*, Verify*,
// Simulate*, Export*): the calls a session may make without its CSRF
// token.
func IsRead(procedure string) bool {
	method := procedure[strings.LastIndexByte(procedure, '/')+1:]
	for _, prefix := range readPrefixes {
		if strings.HasPrefix(method, prefix) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// withPrincipal records in ctx the principal of the call's API key.
func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf returns who a call speaks for: its session's principal or
// its API key's; false on a server without keys called without a session.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	if p, ok := Authenticated(ctx); ok {
		return p, true
	}
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
