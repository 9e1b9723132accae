package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/rules"
)

// programService serves accrue.v1.ProgramService.
type programService struct{ *Server }

// ProgramIDLenMax bounds program ids.
const ProgramIDLenMax = 64

// PutRules stores a new rules version, creating the program with the
// first. A later version may be scheduled ahead: it takes effect from its
// at.
func (s *programService) PutRules(ctx context.Context, req *connect.Request[accruev1.PutRulesRequest]) (*connect.Response[accruev1.PutRulesResponse], error) {
	m := req.Msg
	at, err := s.readTimeOrNow("at", m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkID("program", m.GetProgram(), ProgramIDLenMax); err != nil {
		return nil, err
	}
	_, futureAt := s.eventTime(m.GetAt())
	reply, err := s.svc.PutRules(ctx, commandOf(m), service.PutRulesInput{
		Program: m.GetProgram(), Document: m.GetDocument(), At: at, FutureAt: futureAt,
	}, func(v store.RulesVersion) ([]byte, error) {
		return encodeProto(&accruev1.PutRulesResponse{Version: ruleVersionToProto(v)})
	})
	resp := &accruev1.PutRulesResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

func ruleVersionToProto(v store.RulesVersion) *accruev1.RuleVersion {
	return &accruev1.RuleVersion{Version: v.Version, EffectiveAt: stamp(v.EffectiveAt), Document: v.Document}
}

// GetRules returns one rules version: the one asked for, or the one in
// force at `at` (now when unset).
func (s *programService) GetRules(ctx context.Context, req *connect.Request[accruev1.GetRulesRequest]) (*connect.Response[accruev1.GetRulesResponse], error) {
	m := req.Msg
	var at time.Time
	if m.GetVersion() == 0 {
		var err error
		if at, err = s.readTimeOrNow("at", m.GetAt()); err != nil {
			return nil, err
		}
	}
	v, err := s.svc.GetRules(ctx, m.GetProgram(), m.GetVersion(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetRulesResponse{Version: ruleVersionToProto(v)}), nil
}

// ListRuleVersions returns every rules version of a program in order.
func (s *programService) ListRuleVersions(ctx context.Context, req *connect.Request[accruev1.ListRuleVersionsRequest]) (*connect.Response[accruev1.ListRuleVersionsResponse], error) {
	vs, err := s.svc.ListRuleVersions(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListRuleVersionsResponse{}
	for _, v := range vs {
		resp.Versions = append(resp.Versions, ruleVersionToProto(v))
	}
	return connect.NewResponse(resp), nil
}

// SimulateOrder returns the plan an order would post, writing nothing.
func (s *programService) SimulateOrder(ctx context.Context, req *connect.Request[accruev1.SimulateOrderRequest]) (*connect.Response[accruev1.SimulateOrderResponse], error) {
	m := req.Msg
	at, err := s.readTimeOrNow("at", m.GetAt())
	if err != nil {
		return nil, err
	}
	sim, err := s.svc.SimulateOrder(ctx, service.SimulateOrderInput{
		Program: m.GetProgram(), Partner: m.GetPartner(), Lines: orderLines(m.GetLines()), Shipping: m.GetShipping(), At: at,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.SimulateOrderResponse{Plan: planToProto(sim.Plan, sim.Rules, sim.Version, sim.Tier)}), nil
}

func percent(d decimal.Decimal) string {
	return d.Mul(decimal.NewFromInt(100)).String() + "%"
}

func planToProto(pl rules.Plan, prog *rules.Program, version int32, tier string) *accruev1.Plan {
	out := &accruev1.Plan{
		Sales: prog.Format(pl.Sales), Commission: prog.Format(pl.Commission), Flat: prog.Format(pl.Flat),
		RulesVersion: version, Tier: tier,
	}
	for _, l := range pl.Lines {
		pl := &accruev1.PlanLine{
			Product: l.Product, Amount: prog.Format(l.AmountDelta), Commission: prog.Format(l.CommissionDelta),
			Source: l.Rate.Source, Participates: l.Rate.Participates, Note: l.Note,
		}
		if l.Rate.Participates && !l.Rate.Flat {
			pl.Rate = percent(l.Rate.Rate)
		}
		out.Lines = append(out.Lines, pl)
	}
	for _, lv := range pl.Upline {
		out.Upline = append(out.Upline, &accruev1.PlanUplineLevel{
			Level: int32(lv.Level), Partner: lv.Partner, Amount: prog.Format(lv.Amount), Rate: percent(lv.Rate),
			Base: lv.Base, BaseAmount: prog.Format(lv.BaseAmount),
		})
	}
	return out
}
