package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// specDoc is the example of SPEC §4.
const specDoc = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
attribution: {model: last_click, window: 60d, allow_self_referral: false}
commission:
  default: 10%
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
    - {match: {partner: carol}, rate: 12%}
    - {match: {partner: dave, product: belt}, rate: 20%}
tiers:
  - {name: Bronze, min_volume: "0", rate: 5%}
  - {name: Silver, min_volume: "1000.00", rate: 7%}
upline:
  - {level: 1, rate: 2%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

func mustParse(t testing.TB, doc string) *Program {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseSpecExample(t *testing.T) {
	p := mustParse(t, specDoc)
	if p.Currency != "USD" || p.Scale() != 2 || p.Location != time.UTC || p.AccrueOn != "paid" || p.Hold != 0 {
		t.Errorf("top level: %+v", p)
	}
	if p.Attribution != (Attribution{Model: "last_click", Window: 60 * 24 * time.Hour}) {
		t.Errorf("attribution: %+v", p.Attribution)
	}
	if d := p.Commission.Default; d.IsFlat || !d.Fraction.Equal(dec("0.1")) {
		t.Errorf("default: %+v", d)
	}
	rules := p.Commission.Rules
	if len(rules) != 4 || rules[1].Participates || rules[1].Product != "gift-card" ||
		rules[3].Partner != "dave" || rules[3].Product != "belt" || !rules[3].Rate.Equal(dec("0.2")) {
		t.Errorf("rules: %+v", rules)
	}
	if len(p.Tiers) != 2 || p.Tiers[1].Name != "Silver" || !p.Tiers[1].MinVolume.Equal(dec("1000")) ||
		!p.Tiers[1].Rate.Equal(dec("0.07")) {
		t.Errorf("tiers: %+v", p.Tiers)
	}
	if len(p.Upline) != 1 || p.Upline[0] != (Level{Level: 1, Rate: p.Upline[0].Rate, Base: "order_amount"}) ||
		!p.Upline[0].Rate.Equal(dec("0.02")) {
		t.Errorf("upline: %+v", p.Upline)
	}
	if !p.PayoutMinimum.Equal(dec("100")) || p.Schedule != "0 0 1 * *" || p.DueDay != 15 {
		t.Errorf("payout/statements: %+v", p)
	}
	if !p.RateMax().Equal(dec("0.2")) {
		t.Errorf("RateMax = %s, want 0.2", p.RateMax())
	}
}

func TestParseDefaults(t *testing.T) {
	p := mustParse(t, "currency: EUR")
	want := Program{Currency: "EUR", Timezone: "UTC", Location: time.UTC, AccrueOn: "paid",
		Attribution: Attribution{Model: "last_click", Window: 30 * 24 * time.Hour},
		Schedule:    "0 0 1 * *", DueDay: 1}
	if p.Currency != want.Currency || p.Timezone != want.Timezone || p.Location != want.Location ||
		p.AccrueOn != want.AccrueOn || p.Hold != 0 || p.Attribution != want.Attribution ||
		p.Schedule != want.Schedule || p.DueDay != want.DueDay || !p.PayoutMinimum.IsZero() ||
		p.Commission.Default.IsFlat || !p.Commission.Default.Fraction.IsZero() || p.Tiers != nil || p.Upline != nil {
		t.Errorf("defaults: %+v", p)
	}
}

func TestParseJSONAndFlat(t *testing.T) {
	p := mustParse(t, `{"currency": "JPY", "timezone": "Asia/Tokyo", "hold": "14d",
	  "commission": {"default": {"flat": "500"}}, "statements": {"due_day": 28}}`)
	if p.Location.String() != "Asia/Tokyo" || p.Hold != 14*24*time.Hour || p.DueDay != 28 {
		t.Errorf("program: %+v", p)
	}
	if d := p.Commission.Default; !d.IsFlat || !d.Flat.Equal(dec("500")) {
		t.Errorf("flat default: %+v", d)
	}
}

func TestParseScenarioPrograms(t *testing.T) {
	docs := []string{
		`{currency: USD, timezone: UTC, accrue_on: paid, hold: 0d,
		  attribution: {model: last_click, window: 60d, allow_self_referral: false},
		  commission: {default: 10%}, upline: [{level: 1, rate: 2%, base: order_amount}],
		  payout: {minimum: "100.00"}, statements: {schedule: "0 0 1 * *", due_day: 15}}`,
		`{currency: USD, accrue_on: completed, commission: {default: 10%},
		  tiers: [{name: Bronze, min_volume: "0", rate: 5%}, {name: Silver, min_volume: "1000.00", rate: 7%},
		          {name: Gold, min_volume: "5000.00", rate: 10%}]}`,
		`{currency: USD, hold: 14d, attribution: {model: last_click, window: 30d, allow_self_referral: false},
		  commission: {default: 10%},
		  upline: [{level: 1, rate: 30%, base: commission}, {level: 2, rate: 10%, base: commission}]}`,
	}
	type level struct {
		rate, base string
	}
	type tier struct {
		name, min, rate string
	}
	want := []struct {
		hold     time.Duration
		accrueOn string
		tiers    []tier
		upline   []level
	}{
		{0, "paid", nil, []level{{"0.02", "order_amount"}}},
		{0, "completed", []tier{{"Bronze", "0", "0.05"}, {"Silver", "1000", "0.07"}, {"Gold", "5000", "0.1"}}, nil},
		{14 * 24 * time.Hour, "paid", nil, []level{{"0.3", "commission"}, {"0.1", "commission"}}},
	}
	for i, doc := range docs {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Errorf("doc %d: %v", i, err)
			continue
		}
		w := want[i]
		if p.Hold != w.hold || p.AccrueOn != w.accrueOn {
			t.Errorf("doc %d: hold %v accrue_on %q, want %v %q", i, p.Hold, p.AccrueOn, w.hold, w.accrueOn)
		}
		if len(p.Tiers) != len(w.tiers) {
			t.Errorf("doc %d: tiers %+v, want %v", i, p.Tiers, w.tiers)
		} else {
			for j, tr := range w.tiers {
				got := p.Tiers[j]
				if got.Name != tr.name || !got.MinVolume.Equal(dec(tr.min)) || !got.Rate.Equal(dec(tr.rate)) {
					t.Errorf("doc %d: tiers[%d] = %+v, want %v", i, j, got, tr)
				}
			}
		}
		if len(p.Upline) != len(w.upline) {
			t.Errorf("doc %d: upline %+v, want %v", i, p.Upline, w.upline)
		} else {
			for j, lv := range w.upline {
				got := p.Upline[j]
				if got.Level != j+1 || !got.Rate.Equal(dec(lv.rate)) || got.Base != lv.base {
					t.Errorf("doc %d: upline[%d] = %+v, want level %d %v", i, j, got, j+1, lv)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	rule := func(r string) string {
		return "currency: USD\ncommission:\n  rules:\n    - {match: {product: a}, rate: 1%}\n    - " + r
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "the document is empty"},
		{"not a mapping", "- 1", "must be a mapping"},
		{"syntax", "currency: [", "invalid YAML"},
		{"two documents", "currency: USD\n---\ncurrency: EUR", "more than one YAML document"},
		{"no currency", "timezone: UTC", "currency: is required"},
		{"bad currency", "currency: XYZ", `currency: "XYZ" is not a supported currency`},
		{"unknown top", "currency: USD\nname: x", "name: unknown field"},
		{"unknown nested", rule("{match: {product: b}, rate: 1%, foo: 1}"), "commission.rules[1].foo: unknown field"},
		{"duplicate key", "currency: USD\ncurrency: EUR", "currency: is given twice"},
		{"rate not percent", rule(`{match: {product: b}, rate: "12"}`), `commission.rules[1].rate: "12" is not a percentage`},
		{"rate above 100", rule(`{match: {product: b}, rate: 101%}`), `commission.rules[1].rate: "101%" is above 100%`},
		{"empty match", rule(`{match: {}, rate: 1%}`), "commission.rules[1].match: needs a partner, a product or both"},
		{"no match", rule(`{rate: 1%}`), "commission.rules[1].match: is required"},
		{"rate and participates", rule(`{match: {product: b}, rate: 1%, participates: false}`), "commission.rules[1]: has both rate and participates: false"},
		{"neither", rule(`{match: {product: b}}`), "commission.rules[1]: needs a rate or participates: false"},
		{"exclusion for partner", rule(`{match: {partner: p, product: b}, participates: false}`), "commission.rules[1].match: participates: false excludes a product for everyone"},
		{"participates not bool", rule(`{match: {product: b}, participates: maybe}`), "commission.rules[1].participates: must be true or false"},
		{"default not percent", "currency: USD\ncommission: {default: 10}", `commission.default: "10" is not a percentage`},
		{"flat decimals", "currency: USD\ncommission: {default: {flat: \"5.001\"}}", "commission.default.flat: 5.001 has more than 2 decimals for USD"},
		{"flat negative", "currency: USD\ncommission: {default: {flat: \"-5\"}}", `commission.default.flat: "-5" is negative`},
		{"jpy minimum", "currency: JPY\npayout: {minimum: \"100.50\"}", "payout.minimum: 100.5 has more than 0 decimals for JPY"},
		{"minimum not amount", "currency: USD\npayout: {minimum: 1e3}", `payout.minimum: "1e3" is not an amount`},
		{"bad timezone", "currency: USD\ntimezone: Mars/Base", `timezone: "Mars/Base" is not an IANA time zone`},
		{"local timezone", "currency: USD\ntimezone: Local", `timezone: "Local" is not an IANA time zone`},
		{"accrue_on", "currency: USD\naccrue_on: shipped", `accrue_on: "shipped" is not paid or completed`},
		{"hold negative", "currency: USD\nhold: -1h", `hold: "-1h" is negative`},
		{"hold bad", "currency: USD\nhold: 3 days", `hold: "3 days" is not a duration`},
		{"model", "currency: USD\nattribution: {model: linear}", `attribution.model: "linear" is not last_click or first_click`},
		{"window", "currency: USD\nattribution: {window: 99999d}", `attribution.window: "99999d" is longer than 3650d`},
		{"schedule", "currency: USD\nstatements: {schedule: \"every month\"}", `statements.schedule: "every month" is not a cron expression`},
		{"schedule tz", "currency: USD\nstatements: {schedule: \"CRON_TZ=UTC 0 0 1 * *\"}", `statements.schedule: "CRON_TZ=UTC 0 0 1 * *" must not name a time zone`},
		{"due_day", "currency: USD\nstatements: {due_day: 29}", `statements.due_day: "29" is not a day from 1 to 28`},
		{"first tier", "currency: USD\ntiers: [{name: A, min_volume: \"10\", rate: 1%}]", `tiers[0].min_volume: the first tier must start at "0"`},
		{"tiers order", "currency: USD\ntiers: [{name: A, min_volume: \"0\", rate: 1%}, {name: B, min_volume: \"0\", rate: 2%}]", "tiers[1].min_volume: must be above the previous tier's 0.00"},
		{"tier names", "currency: USD\ntiers: [{name: A, min_volume: \"0\", rate: 1%}, {name: A, min_volume: \"5\", rate: 2%}]", `tiers[1].name: "A" is used by an earlier tier`},
		{"tier missing rate", "currency: USD\ntiers: [{name: A, min_volume: \"0\"}]", "tiers[0].rate: is required"},
		{"upline level", "currency: USD\nupline: [{level: 2, rate: 1%, base: commission}]", `upline[0].level: "2" must be 1`},
		{"upline base", "currency: USD\nupline: [{level: 1, rate: 1%, base: sales}]", `upline[0].base: "sales" is not order_amount or commission`},
		{"upline list", "currency: USD\nupline: {level: 1}", "upline: must be a list"},
		{"too many levels", "currency: USD\nupline: [" + strings.Repeat("{level: 1, rate: 1%, base: commission},", 11) + "]", "upline: has 11 entries; the limit is 10"},
		{"too large", "currency: USD\n#" + strings.Repeat("x", DocumentSizeMax), "the limit is 262144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", p, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v is not a *FieldError", err)
			}
		})
	}
}

func TestParseReportsSeveralErrors(t *testing.T) {
	_, err := Parse([]byte("currency: USD\naccrue_on: x\nhold: y\nstatements: {due_day: 0}"))
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want three joined errors, got %v", err)
	}
}

func TestParseRuleLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("currency: USD\ncommission:\n  rules:\n")
	for i := 0; i <= CommissionRulesMax; i++ {
		b.WriteString("    - {match: {product: p}, rate: 1%}\n")
	}
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "commission.rules: has 1001 entries; the limit is 1000") {
		t.Errorf("err = %v", err)
	}
}

func TestTierFor(t *testing.T) {
	p := mustParse(t, `{currency: USD, tiers: [{name: Bronze, min_volume: "0", rate: 5%}, {name: Silver, min_volume: "1000.00", rate: 7%}]}`)
	for _, tt := range []struct{ volume, want string }{
		{"950", "Bronze"}, {"1000", "Silver"}, {"999.99", "Bronze"}, {"0", "Bronze"}, {"-20", "Bronze"}, {"100000", "Silver"},
	} {
		if got := p.TierFor(dec(tt.volume)); got == nil || got.Name != tt.want {
			t.Errorf("TierFor(%s) = %+v, want %s", tt.volume, got, tt.want)
		}
	}
	if got := mustParse(t, "currency: USD").TierFor(dec("5")); got != nil {
		t.Errorf("TierFor without tiers = %+v, want nil", got)
	}
}
