package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// programService serves accrue.v1.ProgramService.
type programService struct{ *Server }

// MaxProgramIDLen bounds program ids.
const MaxProgramIDLen = 64

func (s *programService) PutRules(ctx context.Context, req *connect.Request[accruev1.PutRulesRequest]) (*connect.Response[accruev1.PutRulesResponse], error) {
	m := req.Msg
	// A later version may be scheduled ahead: it takes effect from its at.
	at, err := s.readTimeOrNow("at", m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkID("program", m.GetProgram(), MaxProgramIDLen); err != nil {
		return nil, err
	}
	prog, err := rules.Parse([]byte(m.GetDocument()))
	if err != nil {
		return nil, documentFault(err)
	}
	resp := &accruev1.PutRulesResponse{}
	replayed, err := s.exec(ctx, m, resp, func(tx pgx.Tx, _ []byte) error {
		if _, err := ledger.CreateProgram(ctx, tx, m.GetProgram(), prog.Currency, prog.Timezone, at); err != nil {
			return err
		}
		// Versions are numbered under the program's exclusive lock.
		if err := lockProgramExclusive(ctx, tx, m.GetProgram()); err != nil {
			return err
		}
		for _, a := range affiliate.PlatformAccounts {
			if _, err := ledger.OpenAccount(ctx, tx, m.GetProgram(), a.Code, a.Side, affiliate.HotShards); err != nil {
				return err
			}
		}
		var v int32
		err := tx.QueryRow(ctx, `INSERT INTO rule_versions (program_id, version, effective_at, document)
			SELECT $1, COALESCE(max(version), 0) + 1, $2, $3 FROM rule_versions WHERE program_id = $1
			RETURNING version`, m.GetProgram(), at, m.GetDocument()).Scan(&v)
		if err != nil {
			return fmt.Errorf("server: storing rules: %w", err)
		}
		if v == 1 {
			// The first version creates the program and fixes its first
			// period: that is an event, never dated in the future.
			if _, err := s.eventTime(m.GetAt()); err != nil {
				return err
			}
		}
		resp.Version = &accruev1.RuleVersion{Version: v, EffectiveAt: stamp(at), Document: m.GetDocument()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Replayed = replayed
	return connect.NewResponse(resp), nil
}

// rulesFault turns a rules validation error (a *rules.FieldError, or several
// joined) into InvalidArgument naming the first field at fault; nil stays
// nil.
func rulesFault(err error) error {
	if err == nil {
		return nil
	}
	var fe *rules.FieldError
	if errors.As(err, &fe) {
		return fault.Invalid(fe.Path, "%s", fe.Reason)
	}
	return fault.Invalid("", "%v", err)
}

// documentFault is rulesFault for an error in a rules document: the path
// is inside the request's document field ("document.commission.default";
// "document" alone for a YAML syntax error, whose message gives the line).
func documentFault(err error) error {
	var fe *rules.FieldError
	if errors.As(err, &fe) {
		return fault.Invalid(joinField("document", fe.Path), "%s", fe.Reason)
	}
	return fault.Invalid("document", "%v", err)
}

func (s *programService) GetRules(ctx context.Context, req *connect.Request[accruev1.GetRulesRequest]) (*connect.Response[accruev1.GetRulesResponse], error) {
	m := req.Msg
	v := m.GetVersion()
	if v == 0 {
		at, err := s.readTimeOrNow("at", m.GetAt())
		if err != nil {
			return nil, err
		}
		if v, _, err = s.versionAt(ctx, s.db.Pool, m.GetProgram(), at); err != nil {
			return nil, err
		}
	}
	out := &accruev1.RuleVersion{Version: v}
	var eff time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT effective_at, document FROM rule_versions WHERE program_id = $1 AND version = $2`,
		m.GetProgram(), v).Scan(&eff, &out.Document)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Missing("version", "program %q has no rules version %d", m.GetProgram(), v)
	}
	if err != nil {
		return nil, fmt.Errorf("server: reading rules: %w", err)
	}
	out.EffectiveAt = stamp(eff)
	return connect.NewResponse(&accruev1.GetRulesResponse{Version: out}), nil
}

func (s *programService) ListRuleVersions(ctx context.Context, req *connect.Request[accruev1.ListRuleVersionsRequest]) (*connect.Response[accruev1.ListRuleVersionsResponse], error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT version, effective_at, document FROM rule_versions WHERE program_id = $1 ORDER BY version`,
		req.Msg.GetProgram())
	if err != nil {
		return nil, fmt.Errorf("server: listing rules: %w", err)
	}
	defer rows.Close()
	resp := &accruev1.ListRuleVersionsResponse{}
	for rows.Next() {
		v := &accruev1.RuleVersion{}
		var eff time.Time
		if err := rows.Scan(&v.Version, &eff, &v.Document); err != nil {
			return nil, fmt.Errorf("server: scanning rules: %w", err)
		}
		v.EffectiveAt = stamp(eff)
		resp.Versions = append(resp.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server: listing rules: %w", err)
	}
	if len(resp.Versions) == 0 {
		return nil, fault.Missing("program", "no program %q", req.Msg.GetProgram())
	}
	return connect.NewResponse(resp), nil
}

func (s *programService) SimulateOrder(ctx context.Context, req *connect.Request[accruev1.SimulateOrderRequest]) (*connect.Response[accruev1.SimulateOrderResponse], error) {
	m := req.Msg
	at, err := s.readTimeOrNow("at", m.GetAt())
	if err != nil {
		return nil, err
	}
	v, prog, err := s.versionAt(ctx, s.db.Pool, m.GetProgram(), at)
	if err != nil {
		return nil, err
	}
	lines, shipping, err := parseLines(prog, m.GetLines(), m.GetShipping(), true)
	if err != nil {
		return nil, err
	}
	facts := rules.AccrualFacts{Partner: m.GetPartner(), Lines: lines, Shipping: shipping}
	if m.GetPartner() != "" {
		if _, err := loadPartner(ctx, s.db.Pool, m.GetProgram(), m.GetPartner(), "partner", false); err != nil {
			return nil, err
		}
		volume, err := ledger.AccountBalance(ctx, s.db.Pool, m.GetProgram(), affiliate.PartnerAccount(m.GetPartner(), affiliate.Sales))
		if err != nil {
			return nil, err
		}
		facts.Tier = prog.TierFor(volume)
		if facts.Upline, err = uplineAt(ctx, s.db.Pool, m.GetProgram(), m.GetPartner(), at, len(prog.Upline)); err != nil {
			return nil, err
		}
	}
	if err := prog.CheckFacts(facts); err != nil {
		return nil, rulesFault(err)
	}
	state, plan := prog.Accrue(facts)
	return connect.NewResponse(&accruev1.SimulateOrderResponse{Plan: planToProto(plan, prog, v, state.Tier)}), nil
}

// parseLines reads and merges an order's lines and shipping. Lines may be
// empty only when required is false (a shipping-only refund).
func parseLines(prog *rules.Program, in []*accruev1.OrderLine, shippingText string, required bool) ([]rules.Line, decimal.Decimal, error) {
	lines := make([]rules.Line, len(in))
	for i, l := range in {
		amount, err := parseAmount(fmt.Sprintf("lines[%d].amount", i), l.GetAmount(), prog.Scale())
		if err != nil {
			return nil, decimal.Zero, err
		}
		lines[i] = rules.Line{Product: l.GetProduct(), Amount: amount}
	}
	shipping := decimal.Zero
	if shippingText != "" {
		var err error
		if shipping, err = parseAmount("shipping", shippingText, prog.Scale()); err != nil {
			return nil, decimal.Zero, err
		}
		// The rules bound shipping as they bound lines (MergeLines checks
		// those); Accrue asserts it.
		if err := prog.CheckAmount("shipping", shipping); err != nil {
			return nil, decimal.Zero, rulesFault(err)
		}
	}
	if len(lines) == 0 && !required {
		return nil, shipping, nil
	}
	merged, err := prog.MergeLines(lines)
	if err != nil {
		return nil, decimal.Zero, rulesFault(err)
	}
	return merged, shipping, nil
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
