package service

import (
	"context"
	"time"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// NewClick is a click to record: Partner is a referral code (in any case)
// or a partner id.
type NewClick struct {
	Program string
	store.Click
}

// RecordedClick is a click as recorded: its partner and id.
type RecordedClick struct {
	Partner string
	ID      int64
}

// RecordClick records a visitor's click on a partner's link; the click is
// encoded as its response. Concurrent clicks of a program are recorded
// together: the click joins the RecordClicks batch of the clicks that
// arrive while the program's previous batch commits (group.go), and is
// answered exactly as a RecordClicks of it alone would be.
func (s *Service) RecordClick(ctx context.Context, c Command, in NewClick, encode Encode[RecordedClick]) (Reply, error) {
	if err := c.check(); err != nil {
		return Reply{}, err
	}
	out, err := s.clicks.do(ctx, in.Program, BatchClick{Command: c, Click: in.Click, encode: encode})
	if err != nil {
		return Reply{}, err
	}
	return out.Reply, out.Err
}

// clickGroupSize bounds the clicks of one batch of RecordClick calls.
const clickGroupSize = 256

// recordClickGroup records a batch of single clicks of one program with
// RecordClicks, each encoded by its own call's encoder; a fault of the
// whole batch (the program, the database) is each click's outcome.
func (s *Service) recordClickGroup(ctx context.Context, program string, clicks []BatchClick) []ClickOutcome {
	out, err := s.RecordClicks(ctx, program, clicks, nil)
	if err != nil {
		out = make([]ClickOutcome, len(clicks))
		for i := range out {
			out[i].Err = err
		}
	}
	return out
}

// Attribution is who an order is attributed to, and how.
type Attribution struct {
	Partner string
	// How is affiliate.ByPartnerCode, ByLastClick, ByFirstClick or "".
	How     string
	ClickID int64
}

// Attribute finds an order's partner (SPEC §5): an explicit partner code
// matching a referral code in any case, else the last (or first) click of
// the order's visitor or of any visitor tied to its customer within the
// window before at.
func Attribute(ctx context.Context, q ledger.Querier, program string, prog *rules.Program, code, visitor, customer string, at time.Time) (Attribution, error) {
	if key, ok := affiliate.CodeKey(code); ok {
		id, err := store.PartnerByCode(ctx, q, program, key)
		if err != nil || id != "" {
			return Attribution{Partner: id, How: affiliate.ByPartnerCode}, err
		}
	}
	first, how := affiliate.ClickAttribution(prog)
	id, partner, found, err := store.ClickOf(ctx, q, program, visitor, customer, at.Add(-prog.Attribution.Window), at, first)
	if err != nil || !found {
		return Attribution{}, err
	}
	return Attribution{Partner: partner, How: how, ClickID: id}, nil
}

// StatsRequest narrows GetStats: one partner when set, months from and to
// (YYYY-MM, inclusive) when set.
type StatsRequest struct {
	Program, Partner, FromMonth, ToMonth string
}

// Stats are the rows of GetStats and the scale of the program's currency.
type Stats struct {
	Rows  []affiliate.StatsRow
	Scale int32
}

// GetStats reports, per partner × UTM source × month, the clicks, unique
// visitors, attributed orders, their revenue, the direct commission posted
// for them, and the conversion rate: three grouped queries, each filtered
// by the request.
func (s *Service) GetStats(ctx context.Context, in StatsRequest) (Stats, error) {
	journal, err := ledger.LoadProgram(ctx, s.db.Pool, in.Program)
	if err != nil {
		return Stats{}, err
	}
	f := ledger.StatsFilter{Program: journal.ID, Partner: in.Partner, Zone: journal.Location.String()}
	f.From, f.To = affiliate.MonthRange(in.FromMonth, in.ToMonth)
	clicks, err := store.ClickStats(ctx, s.db.Pool, f)
	if err != nil {
		return Stats{}, err
	}
	orders, err := store.OrderStats(ctx, s.db.Pool, f)
	if err != nil {
		return Stats{}, err
	}
	prefix, suffixes := affiliate.PartnerAccountAffixes(affiliate.CommissionAccountKinds)
	commission, err := ledger.CommissionStats(ctx, s.db.Pool, f,
		ledger.CommissionAccounts{Kinds: affiliate.CommissionKinds, Prefix: prefix, Suffixes: suffixes})
	if err != nil {
		return Stats{}, err
	}
	rows := affiliate.Stats{}
	for _, c := range clicks {
		r := rows.Row(c.Partner, c.Source, c.Month)
		r.Clicks, r.UniqueVisitors = c.Clicks, c.Visitors
	}
	for _, o := range orders {
		r := rows.Row(o.Partner, o.Source, o.Month)
		r.Orders, r.Revenue = o.Orders, o.Revenue
	}
	for _, c := range commission {
		rows.Row(c.Partner, c.Source, c.Month).Commission = c.Amount
	}
	return Stats{Rows: rows.Rows(), Scale: journal.Scale}, nil
}
