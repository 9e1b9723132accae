package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/rules"
)

// ValidateRules checks a document as PutRules would and locates its
// faults; it reads and writes nothing, so a document's faults are an
// answer, not an error.
func (s *programService) ValidateRules(_ context.Context, req *connect.Request[accruev1.ValidateRulesRequest]) (*connect.Response[accruev1.ValidateRulesResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	prog, faults := rules.Check([]byte(m.GetDocument()))
	resp := &accruev1.ValidateRulesResponse{Ok: prog != nil}
	for _, f := range faults {
		resp.Faults = append(resp.Faults, &accruev1.RulesFault{Path: f.Path, Reason: f.Reason, Line: int32(f.Line)})
	}
	if prog != nil {
		resp.Terms = &accruev1.RulesTerms{Currency: prog.Currency, Timezone: prog.Timezone, PayoutMinimum: prog.Format(prog.PayoutMinimum)}
	}
	return connect.NewResponse(resp), nil
}
