package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// PutRulesInput is a new rules version of a program.
type PutRulesInput struct {
	Program, Document string
	At                time.Time // when it takes effect; may be ahead
	// FutureAt is why At may not date an event (the caller's future-skew
	// refusal), nil when it may. The first version creates the program
	// and fixes its first period, which is an event.
	FutureAt error
}

// PutRules stores a new rules version, creating the program (its journal
// row and platform accounts) with the first. A later version may be
// scheduled ahead: it takes effect from its At.
func (s *Service) PutRules(ctx context.Context, c Command, in PutRulesInput, encode Encode[store.RulesVersion]) (Reply, error) {
	prog, err := rules.Parse([]byte(in.Document))
	if err != nil {
		return Reply{}, documentFault(err)
	}
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.RulesVersion, error) {
		if _, err := ledger.CreateProgram(ctx, tx, in.Program, prog.Currency, prog.Timezone, in.At); err != nil {
			return store.RulesVersion{}, err
		}
		// Versions are numbered under the program's exclusive lock.
		if err := ledger.LockProgramExclusive(ctx, tx, in.Program); err != nil {
			return store.RulesVersion{}, err
		}
		recorded := s.clock.Now()
		for _, a := range affiliate.PlatformAccounts {
			if _, err := ledger.OpenAccount(ctx, tx, in.Program, a.Code, a.Side, affiliate.HotShards, recorded); err != nil {
				return store.RulesVersion{}, err
			}
		}
		v, err := store.InsertRulesVersion(ctx, tx, in.Program, in.At, in.Document)
		if err != nil {
			return store.RulesVersion{}, err
		}
		if v == 1 && in.FutureAt != nil {
			return store.RulesVersion{}, in.FutureAt
		}
		return withEvent(ctx, s, tx, in.Program, EventRulesUpdated, store.RulesVersion{Version: v, EffectiveAt: in.At, Document: in.Document}, nil)
	})
}

// GetRules returns one rules version of program: version, or when it is
// 0 the version in force at at.
func (s *Service) GetRules(ctx context.Context, program string, version int32, at time.Time) (store.RulesVersion, error) {
	if version == 0 {
		var err error
		if version, _, err = s.VersionAt(ctx, s.db.Pool, program, at); err != nil {
			return store.RulesVersion{}, err
		}
	}
	v, found, err := store.LoadRulesVersion(ctx, s.db.Pool, program, version)
	if err == nil && !found {
		err = fault.NotFound("version", "program %q has no rules version %d", program, version)
	}
	return v, err
}

// ListRuleVersions returns every rules version of program in order; fault
// NotFound when it has none.
func (s *Service) ListRuleVersions(ctx context.Context, program string) ([]store.RulesVersion, error) {
	vs, err := store.ListRulesVersions(ctx, s.db.Pool, program)
	if err == nil && len(vs) == 0 {
		err = fault.NotFound("program", "no program %q", program)
	}
	return vs, err
}

// SimulateOrderInput is an order to price without recording it.
type SimulateOrderInput struct {
	Program, Partner string // Partner "" prices the order for no partner
	Lines            []OrderLine
	Shipping         string
	At               time.Time
}

// Simulation is the plan an order would post, with the rules version and
// tier it was computed under.
type Simulation struct {
	Plan    rules.Plan
	Rules   *rules.Program
	Version int32
	Tier    string
}

// SimulateOrder computes the plan an order would post at At for partner
// (its tier and upline chain then), writing nothing.
func (s *Service) SimulateOrder(ctx context.Context, in SimulateOrderInput) (Simulation, error) {
	q := s.db.Pool
	v, prog, err := s.VersionAt(ctx, q, in.Program, in.At)
	if err != nil {
		return Simulation{}, err
	}
	lines, shipping, err := parseLines(prog, in.Lines, in.Shipping, true)
	if err != nil {
		return Simulation{}, err
	}
	facts := rules.AccrualFacts{Partner: in.Partner, Lines: lines, Shipping: shipping}
	if in.Partner != "" {
		if _, err := loadEarner(ctx, q, in.Program, in.Partner, "partner", false); err != nil {
			return Simulation{}, err
		}
		volume, err := ledger.AccountBalance(ctx, q, in.Program, affiliate.PartnerAccount(in.Partner, affiliate.Sales))
		if err != nil {
			return Simulation{}, err
		}
		facts.Tier = prog.TierFor(volume)
		if facts.Upline, err = UplineAt(ctx, q, in.Program, in.Partner, in.At, len(prog.Upline)); err != nil {
			return Simulation{}, err
		}
	}
	if err := prog.CheckFacts(facts); err != nil {
		return Simulation{}, rulesFault(err)
	}
	state, plan := prog.Accrue(facts)
	return Simulation{Plan: plan, Rules: prog, Version: v, Tier: state.Tier}, nil
}
