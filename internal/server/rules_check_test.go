package server

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ValidateRules answers a bad document's faults at their lines and a good
// one's terms, stores nothing, and names a missing program.
func TestValidateRules(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	check := func(doc string) *accruev1.ValidateRulesResponse {
		t.Helper()
		r, err := a.programs.ValidateRules(ctx, connect.NewRequest(&accruev1.ValidateRulesRequest{Program: "new", Document: doc}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg
	}
	bad := check(strings.Replace(apiRules, "default: 10%", "default: ten", 1))
	if bad.GetOk() || len(bad.GetFaults()) != 1 || bad.GetFaults()[0].GetPath() != "commission.default" || bad.GetFaults()[0].GetLine() != 2 || bad.GetTerms() != nil {
		t.Fatalf("a bad rate: %v", bad)
	}
	good := check(apiRules)
	if !good.GetOk() || len(good.GetFaults()) != 0 || good.GetTerms().GetCurrency() != "USD" || good.GetTerms().GetPayoutMinimum() != "100.00" {
		t.Fatalf("a good document: %v", good)
	}
	if _, err := a.programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: "new"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("validating created the program: %v", err)
	}
	_, err := a.programs.ValidateRules(ctx, connect.NewRequest(&accruev1.ValidateRulesRequest{Document: apiRules}))
	wantField(t, err, connect.CodeInvalidArgument, "program")
}
