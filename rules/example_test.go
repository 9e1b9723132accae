package rules_test

import (
	"fmt"

	"github.com/accrue/accrue/rules"
	"github.com/shopspring/decimal"
)

func Example() {
	p, err := rules.Parse([]byte(`
currency: USD
commission: {default: 10%}
upline:
  - {level: 1, rate: 2%, base: order_amount}
`))
	if err != nil {
		panic(err)
	}
	lines, err := p.MergeLines([]rules.Line{
		{Product: "bag", Amount: decimal.RequireFromString("500.00")},
		{Product: "belt", Amount: decimal.RequireFromString("200.00")},
	})
	if err != nil {
		panic(err)
	}
	state, plan := p.Accrue(rules.AccrualFacts{
		Partner: "bob",
		Lines:   lines,
		Upline:  []rules.UplineMember{{Partner: "alice", Eligible: true}},
	})
	fmt.Println("accrued:", p.Format(plan.Commission), "to bob,", p.Format(plan.Upline[0].Amount), "to alice")

	// The state is stored with the order; a refund starts from it.
	_, plan, err = p.Refund(state, []rules.Line{{Product: "bag", Amount: decimal.RequireFromString("200.00")}}, decimal.Zero)
	if err != nil {
		panic(err)
	}
	fmt.Println("refunded:", p.Format(plan.Commission), "from bob,", p.Format(plan.Upline[0].Amount), "from alice")

	_, _, err = p.Refund(state, []rules.Line{{Product: "bag", Amount: decimal.RequireFromString("600.00")}}, decimal.Zero)
	fmt.Println(err)
	// Output:
	// accrued: 70.00 to bob, 14.00 to alice
	// refunded: -20.00 from bob, -4.00 from alice
	// lines[0].amount: refund 600.00 exceeds the 500.00 that remains of bag
}

func ExampleParse_error() {
	_, err := rules.Parse([]byte(`
currency: USD
commission:
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: bag}, rate: 10%}
    - {match: {partner: carol}, rate: "12"}
`))
	fmt.Println(err)
	// Output: commission.rules[2].rate: "12" is not a percentage
}

func ExampleProgram_RateFor() {
	p, _ := rules.Parse([]byte(`
currency: USD
commission:
  default: 10%
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
    - {match: {partner: carol}, rate: 12%}
    - {match: {partner: dave, product: belt}, rate: 20%}
`))
	for _, q := range [][2]string{{"carol", "belt"}, {"dave", "belt"}, {"erin", "belt"}, {"erin", "bag"}, {"carol", "gift-card"}} {
		r := p.RateFor(q[0], q[1], nil)
		fmt.Println(q[0], q[1], r.Participates, r.Rate, r.Source)
	}
	// Output:
	// carol belt true 0.12 commission.rules[2]
	// dave belt true 0.2 commission.rules[3]
	// erin belt true 0.15 commission.rules[0]
	// erin bag true 0.1 commission.default
	// carol gift-card false 0 commission.rules[1]
}
