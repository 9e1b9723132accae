package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones load the same on every machine

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/accrue/accrue/internal/money"
)

// parseErrorsMax bounds how many errors Parse reports for one document.
const parseErrorsMax = 20

// Parse reads a rules document (YAML, or JSON, which is YAML), fills in the
// defaults and validates it. Errors are *FieldError values, several joined
// with errors.Join when the document has several faults; errors.As finds the
// first.
//
// Defaults: timezone UTC, accrue_on paid, hold 0d, attribution {last_click,
// 30d, allow_self_referral false}, commission.default 0%, payout.minimum 0,
// statements {schedule "0 0 1 * *", due_day 1}. currency is required.
func Parse(doc []byte) (*Program, error) {
	if len(doc) > DocumentSizeMax {
		return nil, fieldErrorf("", "the document is %d bytes; the limit is %d", len(doc), DocumentSizeMax)
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fieldErrorf("", "the document is empty")
		}
		return nil, fieldErrorf("", "invalid YAML: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fieldErrorf("", "the input holds more than one YAML document")
	}
	ps := &parser{prog: &Program{}}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	ps.program(top)
	if len(ps.errs) > 0 {
		return nil, errors.Join(ps.errs...)
	}
	return ps.prog, nil
}

// parser walks the YAML node tree, so that every error carries the exact
// path of its field, and collects errors up to parseErrorsMax.
type parser struct {
	prog *Program
	errs []error
}

func (ps *parser) fail(err error) {
	if len(ps.errs) < parseErrorsMax {
		ps.errs = append(ps.errs, err)
	}
}

func (ps *parser) failf(path, format string, args ...any) {
	ps.fail(fieldErrorf(path, format, args...))
}

// program reads the top level. The currency comes first: amounts are
// checked against its scale.
func (ps *parser) program(n *yaml.Node) {
	m, ok := ps.fields(n, "", "currency", "timezone", "accrue_on", "hold",
		"attribution", "commission", "tiers", "upline", "payout", "statements")
	if !ok {
		return
	}
	p := ps.prog
	*p = Program{
		Timezone:    "UTC",
		AccrueOn:    AccrueOnPaid,
		Attribution: Attribution{Model: ModelLastClick, Window: 30 * 24 * time.Hour},
		Schedule:    "0 0 1 * *",
		DueDay:      1,
	}
	if absent(m["currency"]) {
		ps.failf("currency", "is required")
		return
	}
	if s, ok := ps.scalar(m["currency"], "currency"); ok {
		if _, known := money.Scale(s); !known {
			ps.failf("currency", "%s is not a supported currency (%s)", quote(s), strings.Join(money.Currencies(), ", "))
			return
		}
		p.Currency = s
	} else {
		return
	}
	ps.optString(m, "timezone", "", &p.Timezone)
	ps.timezone()
	if ps.optString(m, "accrue_on", "", &p.AccrueOn) && p.AccrueOn != AccrueOnPaid && p.AccrueOn != AccrueOnCompleted {
		ps.failf("accrue_on", "%s is not paid or completed", quote(p.AccrueOn))
	}
	if !absent(m["hold"]) {
		p.Hold = ps.duration(m["hold"], "hold")
	}
	if !absent(m["attribution"]) {
		ps.attribution(m["attribution"])
	}
	if !absent(m["commission"]) {
		ps.commission(m["commission"])
	}
	if !absent(m["tiers"]) {
		ps.tiers(m["tiers"])
	}
	if !absent(m["upline"]) {
		ps.upline(m["upline"])
	}
	if !absent(m["payout"]) {
		ps.payout(m["payout"])
	}
	if !absent(m["statements"]) {
		ps.statements(m["statements"])
	}
}

func (ps *parser) timezone() {
	p := ps.prog
	// "Local" depends on the machine, which a replayable program must not.
	if p.Timezone == "" || p.Timezone == "Local" {
		ps.failf("timezone", "%s is not an IANA time zone like \"Europe/Berlin\"", quote(p.Timezone))
		return
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		ps.failf("timezone", "%s is not an IANA time zone like \"Europe/Berlin\"", quote(p.Timezone))
		return
	}
	p.Location = loc
}

func (ps *parser) attribution(n *yaml.Node) {
	const path = "attribution"
	m, ok := ps.fields(n, path, "model", "window", "allow_self_referral")
	if !ok {
		return
	}
	a := &ps.prog.Attribution
	if ps.optString(m, "model", path, &a.Model) && a.Model != ModelLastClick && a.Model != ModelFirstClick {
		ps.failf(joinPath(path, "model"), "%s is not last_click or first_click", quote(a.Model))
	}
	if !absent(m["window"]) {
		a.Window = ps.duration(m["window"], joinPath(path, "window"))
	}
	if !absent(m["allow_self_referral"]) {
		a.AllowSelfReferral = ps.boolean(m["allow_self_referral"], joinPath(path, "allow_self_referral"))
	}
}

func (ps *parser) commission(n *yaml.Node) {
	const path = "commission"
	m, ok := ps.fields(n, path, "default", "rules")
	if !ok {
		return
	}
	if d := m["default"]; !absent(d) {
		ps.defaultRate(d, joinPath(path, "default"))
	}
	if absent(m["rules"]) {
		return
	}
	items, ok := ps.list(m["rules"], joinPath(path, "rules"), CommissionRulesMax)
	if !ok {
		return
	}
	ps.prog.Commission.Rules = make([]Rule, 0, len(items))
	for i, item := range items {
		ps.prog.Commission.Rules = append(ps.prog.Commission.Rules, ps.rule(item, indexPath(joinPath(path, "rules"), i)))
	}
}

// defaultRate reads "10%" or {flat: "5.00"}.
func (ps *parser) defaultRate(n *yaml.Node, path string) {
	r := &ps.prog.Commission.Default
	if resolve(n).Kind == yaml.MappingNode {
		m, ok := ps.fields(n, path, "flat")
		if !ok {
			return
		}
		if absent(m["flat"]) {
			ps.failf(joinPath(path, "flat"), "is required")
			return
		}
		r.IsFlat = true
		r.Flat = ps.amount(m["flat"], joinPath(path, "flat"))
		return
	}
	r.Fraction = ps.percent(n, path)
}

func (ps *parser) rule(n *yaml.Node, path string) Rule {
	var r Rule
	m, ok := ps.fields(n, path, "match", "rate", "participates")
	if !ok {
		return r
	}
	if absent(m["match"]) {
		ps.failf(joinPath(path, "match"), "is required")
	} else if mm, ok := ps.fields(m["match"], joinPath(path, "match"), "partner", "product"); ok {
		if !absent(mm["partner"]) {
			r.Partner = ps.id(mm["partner"], joinPath(path, "match.partner"))
		}
		if !absent(mm["product"]) {
			r.Product = ps.id(mm["product"], joinPath(path, "match.product"))
		}
		if absent(mm["partner"]) && absent(mm["product"]) {
			ps.failf(joinPath(path, "match"), "needs a partner, a product or both")
		}
	}
	r.Participates = true
	if !absent(m["participates"]) {
		r.Participates = ps.boolean(m["participates"], joinPath(path, "participates"))
	}
	hasRate := !absent(m["rate"])
	switch {
	case !r.Participates && hasRate:
		ps.failf(path, "has both rate and participates: false; give one")
	case !r.Participates && r.Partner != "":
		ps.failf(joinPath(path, "match"), "participates: false excludes a product for everyone; match the product alone")
	case r.Participates && !hasRate:
		ps.failf(path, "needs a rate or participates: false")
	case hasRate:
		r.Rate = ps.percent(m["rate"], joinPath(path, "rate"))
	}
	return r
}

func (ps *parser) tiers(n *yaml.Node) {
	const path = "tiers"
	items, ok := ps.list(n, path, TiersMax)
	if !ok {
		return
	}
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		// Append even a broken tier, so Tiers[i] stays the i-th item.
		ps.prog.Tiers = append(ps.prog.Tiers, Tier{})
		m, ok := ps.fields(item, ip, "name", "min_volume", "rate")
		if !ok {
			continue
		}
		var t Tier
		for _, key := range []string{"name", "min_volume", "rate"} {
			if absent(m[key]) {
				ps.failf(joinPath(ip, key), "is required")
			}
		}
		if !absent(m["name"]) {
			t.Name = ps.id(m["name"], joinPath(ip, "name"))
			if seen[t.Name] {
				ps.failf(joinPath(ip, "name"), "%s is used by an earlier tier", quote(t.Name))
			}
			seen[t.Name] = true
		}
		if !absent(m["min_volume"]) {
			t.MinVolume = ps.amount(m["min_volume"], joinPath(ip, "min_volume"))
			switch {
			case i == 0 && !t.MinVolume.IsZero():
				ps.failf(joinPath(ip, "min_volume"), "the first tier must start at \"0\"")
			case i > 0 && !t.MinVolume.GreaterThan(ps.prog.Tiers[i-1].MinVolume):
				ps.failf(joinPath(ip, "min_volume"), "must be above the previous tier's %s", ps.prog.show(ps.prog.Tiers[i-1].MinVolume))
			}
		}
		if !absent(m["rate"]) {
			t.Rate = ps.percent(m["rate"], joinPath(ip, "rate"))
		}
		ps.prog.Tiers[i] = t
	}
}

func (ps *parser) upline(n *yaml.Node) {
	const path = "upline"
	items, ok := ps.list(n, path, UplineLevelsMax)
	if !ok {
		return
	}
	for i, item := range items {
		ip := indexPath(path, i)
		m, ok := ps.fields(item, ip, "level", "rate", "base")
		if !ok {
			continue
		}
		l := Level{Level: i + 1}
		for _, key := range []string{"level", "rate", "base"} {
			if absent(m[key]) {
				ps.failf(joinPath(ip, key), "is required")
			}
		}
		if !absent(m["level"]) {
			if s, ok := ps.scalar(m["level"], joinPath(ip, "level")); ok {
				if v, err := strconv.Atoi(s); err != nil || v != i+1 {
					ps.failf(joinPath(ip, "level"), "%s must be %d: levels run 1, 2, 3… in order", quote(s), i+1)
				}
			}
		}
		if !absent(m["rate"]) {
			l.Rate = ps.percent(m["rate"], joinPath(ip, "rate"))
		}
		if ps.optString(m, "base", ip, &l.Base) && l.Base != BaseOrderAmount && l.Base != BaseCommission {
			ps.failf(joinPath(ip, "base"), "%s is not order_amount or commission", quote(l.Base))
		}
		ps.prog.Upline = append(ps.prog.Upline, l)
	}
}

func (ps *parser) payout(n *yaml.Node) {
	m, ok := ps.fields(n, "payout", "minimum")
	if ok && !absent(m["minimum"]) {
		ps.prog.PayoutMinimum = ps.amount(m["minimum"], "payout.minimum")
	}
}

func (ps *parser) statements(n *yaml.Node) {
	const path = "statements"
	m, ok := ps.fields(n, path, "schedule", "due_day")
	if !ok {
		return
	}
	p := ps.prog
	if ps.optString(m, "schedule", path, &p.Schedule) {
		if err := checkSchedule(p.Schedule); err != nil {
			ps.failf(joinPath(path, "schedule"), "%s %v", quote(p.Schedule), err)
		}
	}
	if !absent(m["due_day"]) {
		if s, ok := ps.scalar(m["due_day"], joinPath(path, "due_day")); ok {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 || v > 28 {
				ps.failf(joinPath(path, "due_day"), "%s is not a day from 1 to 28", quote(s))
			}
			p.DueDay = v
		}
	}
}

// checkSchedule accepts a standard cron expression; a time zone prefix is
// refused because the schedule runs in the program's time zone.
func checkSchedule(s string) error {
	if len(s) > IDLenMax {
		return fmt.Errorf("is longer than %d bytes", IDLenMax)
	}
	if bytes.HasPrefix([]byte(s), []byte("TZ=")) || bytes.HasPrefix([]byte(s), []byte("CRON_TZ=")) {
		return errors.New("must not name a time zone: it runs in the program's timezone")
	}
	if _, err := cron.ParseStandard(s); err != nil {
		return fmt.Errorf("is not a cron expression: %v", err)
	}
	return nil
}
