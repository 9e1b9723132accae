package rules

import "testing"

func TestRateFor(t *testing.T) {
	p := mustParse(t, specDoc)
	silver := &p.Tiers[1]
	tests := []struct {
		partner, product string
		tier             *Tier
		want             LineRate
	}{
		{"erin", "bag", nil, LineRate{Participates: true, Rate: dec("0.1"), Source: "commission.default"}},
		{"erin", "belt", nil, LineRate{Participates: true, Rate: dec("0.15"), Source: "commission.rules[0]"}},
		{"carol", "belt", nil, LineRate{Participates: true, Rate: dec("0.12"), Source: "commission.rules[2]"}},
		{"carol", "gift-card", nil, LineRate{Participates: false, Source: "commission.rules[1]"}},
		{"dave", "gift-card", nil, LineRate{Participates: false, Source: "commission.rules[1]"}},
		{"dave", "belt", nil, LineRate{Participates: true, Rate: dec("0.2"), Source: "commission.rules[3]"}},
		{"dave", "bag", nil, LineRate{Participates: true, Rate: dec("0.1"), Source: "commission.default"}},
		{"erin", "bag", silver, LineRate{Participates: true, Rate: dec("0.07"), Source: "tiers[Silver]"}},
		{"erin", "belt", silver, LineRate{Participates: true, Rate: dec("0.15"), Source: "commission.rules[0]"}},
	}
	for _, tt := range tests {
		got := p.RateFor(tt.partner, tt.product, tt.tier)
		if got.Participates != tt.want.Participates || !got.Rate.Equal(tt.want.Rate) ||
			got.Flat != tt.want.Flat || got.Source != tt.want.Source {
			t.Errorf("RateFor(%s, %s) = %+v, want %+v", tt.partner, tt.product, got, tt.want)
		}
	}
}

func TestRateForFirstOfEqualSpecificityWins(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: 10%, rules: [
	  {match: {product: belt}, rate: 15%}, {match: {product: belt}, rate: 30%},
	  {match: {partner: x}, rate: 1%}, {match: {partner: x}, rate: 2%}]}}`)
	if got := p.RateFor("y", "belt", nil); got.Source != "commission.rules[0]" {
		t.Errorf("product: %+v", got)
	}
	if got := p.RateFor("x", "belt", nil); got.Source != "commission.rules[2]" {
		t.Errorf("partner beats product: %+v", got)
	}
}

func TestRateForFlatDefault(t *testing.T) {
	p := mustParse(t, `{currency: USD, commission: {default: {flat: "5.00"}, rules: [{match: {product: belt}, rate: 15%}]},
	  tiers: [{name: Bronze, min_volume: "0", rate: 5%}]}`)
	if got := p.RateFor("x", "bag", nil); !got.Flat || !got.Participates || !got.Rate.IsZero() || got.Source != "commission.default" {
		t.Errorf("flat: %+v", got)
	}
	if got := p.RateFor("x", "bag", &p.Tiers[0]); got.Flat || got.Source != "tiers[Bronze]" {
		t.Errorf("tier wins over flat default: %+v", got)
	}
	if got := p.RateFor("x", "belt", nil); got.Flat || got.Source != "commission.rules[0]" {
		t.Errorf("rule wins over flat default: %+v", got)
	}
}
