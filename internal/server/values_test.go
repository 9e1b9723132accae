package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/money"
)

// rows counts what a refused command must not have written.
func (a *api) rows(t *testing.T) [5]int {
	t.Helper()
	return [5]int{a.count(t, "transactions"), a.count(t, "orders"), a.count(t, "payouts"), a.count(t, "spends"), a.count(t, "partners")}
}

func lines(amounts ...string) []*accruev1.OrderLine {
	out := make([]*accruev1.OrderLine, len(amounts))
	for i, a := range amounts {
		out[i] = &accruev1.OrderLine{Product: "bag", Amount: a}
	}
	return out
}

// TestEveryAmountSharesOneBound: every amount on every RPC goes through
// money.Parse, so one form and one maximum hold everywhere, and what the
// parser accepts the rules accept (shipping at 10^15 used to panic in
// rules on SimulateOrder and attributed PayOrder).
func TestEveryAmountSharesOneBound(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "reg-bob", Partner: "bob", Code: "BOB"})); err != nil {
		t.Fatal(err)
	}
	if _, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-o1",
		Order: "o1", Customer: "c1", PartnerCode: "BOB", Lines: lines("10.00")})); err != nil {
		t.Fatal(err)
	}
	const (
		e15 = "1000000000000000"
		e13 = "10000000000000"
	)
	huge := "1" + strings.Repeat("0", 100000)
	pay := func(shipping string, l ...string) func() error {
		return func() error {
			_, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-bad",
				Order: "o-bad", Customer: "c2", PartnerCode: "BOB", Lines: lines(l...), Shipping: shipping}))
			return err
		}
	}
	simulate := func(partner, shipping string) func() error {
		return func() error {
			_, err := a.programs.SimulateOrder(ctx, connect.NewRequest(&accruev1.SimulateOrderRequest{Program: "p",
				Partner: partner, Lines: lines("10.00"), Shipping: shipping}))
			return err
		}
	}
	rulesDoc := func(doc string) func() error {
		return func() error {
			_, err := a.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules-bad", Document: doc}))
			return err
		}
	}
	cases := []struct {
		name, field string
		call        func() error
	}{
		{"simulate shipping 10^15", "shipping", simulate("", e15)},
		{"simulate attributed shipping 10^15", "shipping", simulate("bob", e15)},
		{"attributed pay shipping 10^15", "shipping", pay(e15, "10.00")},
		{"pay shipping 10^13", "shipping", pay(e13, "10.00")},
		{"pay line 10^13", "lines[0].amount", pay("", e13)},
		{"pay lines of one product adding up past the maximum", "lines[1].amount", pay("", "9999999999999.99", "0.01")},
		{"pay line 10^100000", "lines[0].amount", pay("", huge)},
		{"refund shipping 10^15", "shipping", func() error {
			_, err := a.orders.RefundOrder(ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: "p", IdempotencyKey: "refund-bad",
				Order: "o1", Shipping: e15}))
			return err
		}},
		{"amend line 10^13", "lines[0].amount", func() error {
			_, err := a.orders.AmendOrder(ctx, connect.NewRequest(&accruev1.AmendOrderRequest{Program: "p", IdempotencyKey: "amend-bad",
				Order: "o1", Lines: lines(e13)}))
			return err
		}},
		{"post 10^100000", "entries[0].amount", func() error {
			_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "post-bad",
				Kind: "manual", Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, huge), entry("partner:bob:accrued", cr, huge)}}))
			return err
		}},
		{"post 10^13", "entries[0].amount", func() error {
			_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "post-bad",
				Kind: "manual", Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, e13), entry("partner:bob:accrued", cr, e13)}}))
			return err
		}},
		{"advance 10^1000", "amount", func() error {
			_, err := a.payouts.CreatePayout(ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: "p", IdempotencyKey: "payout-bad",
				Payout: "po1", Partner: "bob", Amount: "1" + strings.Repeat("0", 1000), AllowAdvance: true}))
			return err
		}},
		{"spend 40 digits", "amount", func() error {
			_, err := a.payouts.SpendCredit(ctx, connect.NewRequest(&accruev1.SpendCreditRequest{Program: "p", IdempotencyKey: "spend-bad",
				Spend: "s1", Partner: "bob", Amount: strings.Repeat("9", 40)}))
			return err
		}},
		{"payout minimum 10^13", "document.payout.minimum", rulesDoc("currency: USD\ncommission: {default: 10%}\npayout: {minimum: \"" + e13 + "\"}\n")},
		{"flat 10^13", "document.commission.default.flat", rulesDoc("currency: USD\ncommission: {default: {flat: \"" + e13 + "\"}}\n")},
		{"tier min_volume 10^13", "document.tiers[1].min_volume", rulesDoc("currency: USD\ncommission: {default: 10%}\ntiers:\n  - {name: A, min_volume: \"0\", rate: 5%}\n  - {name: B, min_volume: \"" + e13 + "\", rate: 7%}\n")},
	}
	for _, form := range []string{"+1", " 1", "1 ", "1e3", "0x10", "1_000", ".5", "5.", "1,5", "--1", "NaN"} {
		cases = append(cases, struct {
			name, field string
			call        func() error
		}{"pay line " + form, "lines[0].amount", pay("", form)})
	}
	before := a.rows(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantField(t, tc.call(), connect.CodeInvalidArgument, tc.field)
		})
	}
	if after := a.rows(t); after != before {
		t.Fatalf("refused commands wrote rows: %v, before %v", after, before)
	}

	// The maximum itself is an amount like any other, attributed or not.
	max := money.MaxAmount(2)
	resp, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-max",
		Order: "o-max", Customer: "c3", PartnerCode: "BOB", Lines: lines(max), Shipping: max}))
	if err != nil {
		t.Fatalf("an order at the maximum: %v", err)
	}
	if got := resp.Msg.GetOrder().GetShipping(); got != max {
		t.Errorf("shipping %s, want %s", got, max)
	}
	if err := simulate("bob", max)(); err != nil {
		t.Errorf("simulating at the maximum: %v", err)
	}
	// -0.00 is zero: accepted where zero is, as 0.00.
	resp, err = a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-neg-zero",
		Order: "o-zero", Customer: "c4", Lines: lines("1.00"), Shipping: "-0.00"}))
	if err != nil || resp.Msg.GetOrder().GetShipping() != "0.00" {
		t.Fatalf("shipping -0.00: %v %v, want 0.00", resp, err)
	}
}

// TestEventsAreNotDatedInTheFuture: an event dated more than EventSkewMax
// after the server's clock is refused naming at and writes nothing (an
// order dated 2030 used to be booked in period 2030-01); within the skew it
// is accepted. Reads' times and parent_until get only the 1970..9999 range.
func TestEventsAreNotDatedInTheFuture(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	now := a.clk.Now()
	if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "reg-bob", Partner: "bob", Code: "BOB"})); err != nil {
		t.Fatal(err)
	}
	late := timestamppb.New(now.Add(EventSkewMax + time.Second))
	y2030 := timestamppb.New(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))
	calls := map[string]func(at *timestamppb.Timestamp) error{
		"PayOrder": func(at *timestamppb.Timestamp) error {
			_, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay", At: at,
				Order: "o1", Customer: "c1", PartnerCode: "BOB", Lines: lines("10.00")}))
			return err
		},
		"RecordClick": func(at *timestamppb.Timestamp) error {
			_, err := a.tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: "p", IdempotencyKey: "click", At: at,
				Partner: "BOB", Visitor: "v1"}))
			return err
		},
		"RegisterPartner": func(at *timestamppb.Timestamp) error {
			_, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: "p", IdempotencyKey: "reg-ann", At: at,
				Partner: "ann"}))
			return err
		},
		"UpdatePartner": func(at *timestamppb.Timestamp) error {
			_, err := a.partners.UpdatePartner(ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{Program: "p", IdempotencyKey: "upd-bob", At: at,
				Partner: "bob", Status: accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE}))
			return err
		},
		"PostTransaction": func(at *timestamppb.Timestamp) error {
			_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "post", At: at,
				Kind: "manual", Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("partner:bob:accrued", cr, "5.00")}}))
			return err
		},
		"CreatePayout": func(at *timestamppb.Timestamp) error {
			_, err := a.payouts.CreatePayout(ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: "p", IdempotencyKey: "payout", At: at,
				Payout: "po1", Partner: "bob", Amount: "1.00", AllowAdvance: true}))
			return err
		},
		"PutRules, the first version": func(at *timestamppb.Timestamp) error {
			_, err := a.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "q", IdempotencyKey: "rules-q", At: at,
				Document: apiRules}))
			return err
		},
	}
	before := a.rows(t)
	for name, call := range calls {
		for _, at := range []*timestamppb.Timestamp{late, y2030} {
			wantField(t, call(at), connect.CodeInvalidArgument, "at")
		}
		if after := a.rows(t); after != before {
			t.Fatalf("%s dated in the future wrote rows: %v, before %v", name, after, before)
		}
	}
	if n := a.count(t, "programs"); n != 1 {
		t.Fatalf("%d programs: a first rules version dated in the future created one", n)
	}
	// A later rules version may be scheduled ahead: it takes effect from its at.
	if _, err := a.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules-v2",
		At: y2030, Document: apiRules})); err != nil {
		t.Fatalf("scheduling a rules version: %v", err)
	}
	// Within the skew: a client clock a little ahead is fine.
	for name, call := range calls {
		if err := call(timestamppb.New(now.Add(EventSkewMax))); err != nil {
			t.Errorf("%s within the skew: %v", name, err)
		}
	}

	// Reads and parent_until: only the absolute range.
	for _, ts := range []*timestamppb.Timestamp{
		timestamppb.New(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)),
		{Seconds: 253402300800}, // 10000-01-01
	} {
		_, err := a.ledger.GetBalances(ctx, connect.NewRequest(&accruev1.GetBalancesRequest{Program: "p", Accounts: []string{"partner:bob:accrued"}, AsOf: ts}))
		wantField(t, err, connect.CodeInvalidArgument, "as_of")
		_, err = a.ledger.GetTrialBalance(ctx, connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: "p", AsOf: ts}))
		wantField(t, err, connect.CodeInvalidArgument, "as_of")
		_, err = a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: "p", IdempotencyKey: "reg-carl",
			Partner: "carl", Parent: "bob", ParentUntil: ts}))
		wantField(t, err, connect.CodeInvalidArgument, "parent_until")
	}
	// as_of in the future is a question about the balances then: allowed.
	if _, err := a.ledger.GetTrialBalance(ctx, connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: "p", AsOf: y2030})); err != nil {
		t.Errorf("as_of 2030: %v", err)
	}
}

// TestUpdatePartnerIsPartial: what an UpdatePartner does not name stays as
// it is (private: {email} used to erase the name and bank details); an
// update_mask names exactly what changes.
func TestUpdatePartnerIsPartial(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	full := &accruev1.PartnerPrivate{Email: "bob@example.com", Name: "Bob", BankAccount: "DE89 3704", BankName: "Bank"}
	for _, r := range []*accruev1.RegisterPartnerRequest{
		{Program: "p", IdempotencyKey: "reg-ann", Partner: "ann"},
		{Program: "p", IdempotencyKey: "reg-bob", Partner: "bob", Parent: "ann", Private: full},
	} {
		if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(r)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	update := func(r *accruev1.UpdatePartnerRequest) error {
		n++
		r.Program, r.Partner, r.IdempotencyKey = "p", "bob", fmt.Sprintf("upd-%d", n)
		_, err := a.partners.UpdatePartner(ctx, connect.NewRequest(r))
		return err
	}
	want := func(what string, status accruev1.PartnerStatus, private *accruev1.PartnerPrivate) {
		t.Helper()
		got, err := a.partners.GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: "bob", IncludePrivate: true}))
		if err != nil {
			t.Fatal(err)
		}
		p := got.Msg.GetPartner()
		if p.GetStatus() != status || p.GetParent() != "ann" || !proto.Equal(p.GetPrivate(), private) {
			t.Fatalf("after %s: status %v, parent %q, private %v; want %v, ann, %v", what, p.GetStatus(), p.GetParent(), p.GetPrivate(), status, private)
		}
	}
	active, suspended := accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE, accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

	if err := update(&accruev1.UpdatePartnerRequest{Private: &accruev1.PartnerPrivate{Email: "new@example.com"}}); err != nil {
		t.Fatal(err)
	}
	full.Email = "new@example.com"
	want("an email without a mask", active, full)

	if err := update(&accruev1.UpdatePartnerRequest{UpdateMask: mask("status"), Status: suspended,
		Private: &accruev1.PartnerPrivate{Name: "not named"}}); err != nil {
		t.Fatal(err)
	}
	want("a status named by the mask", suspended, full)

	if err := update(&accruev1.UpdatePartnerRequest{UpdateMask: mask("private.bank_account", "private.bank_name")}); err != nil {
		t.Fatal(err)
	}
	full.BankAccount, full.BankName = "", ""
	want("bank details cleared by the mask", suspended, full)

	if err := update(&accruev1.UpdatePartnerRequest{UpdateMask: mask("private"), Private: &accruev1.PartnerPrivate{Name: "Robert"}}); err != nil {
		t.Fatal(err)
	}
	want("private replaced as a whole", suspended, &accruev1.PartnerPrivate{Name: "Robert"})

	before := a.rows(t)
	for _, tc := range []struct {
		req   *accruev1.UpdatePartnerRequest
		field string
	}{
		{&accruev1.UpdatePartnerRequest{UpdateMask: mask("private.iban"), Private: &accruev1.PartnerPrivate{Email: "x@example.com"}}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: mask("code")}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: mask("name", "status"), Status: active}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: mask("status")}, "status"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: mask("parent")}, "parent"},
	} {
		wantField(t, update(tc.req), connect.CodeInvalidArgument, tc.field)
	}
	if after := a.rows(t); after != before {
		t.Fatalf("refused updates wrote rows: %v, before %v", after, before)
	}
	want("refused updates", suspended, &accruev1.PartnerPrivate{Name: "Robert"})
}
