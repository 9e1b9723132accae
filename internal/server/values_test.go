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

	"github.com/accrue/accrue/internal/money"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
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
	c := amountCalls{ctx, a}
	cases := c.outOfBounds()
	for _, form := range []string{"+1", " 1", "1 ", "1e3", "0x10", "1_000", ".5", "5.", "1,5", "--1", "NaN"} {
		cases = append(cases, amountCase{"pay line " + form, "lines[0].amount", c.pay("", form)})
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
	max := money.AmountMax(2)
	resp, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-max",
		Order: "o-max", Customer: "c3", PartnerCode: "BOB", Lines: lines(max), Shipping: max}))
	if err != nil {
		t.Fatalf("an order at the maximum: %v", err)
	}
	if got := resp.Msg.GetOrder().GetShipping(); got != max {
		t.Errorf("shipping %s, want %s", got, max)
	}
	if err := c.simulate("bob", max)(); err != nil {
		t.Errorf("simulating at the maximum: %v", err)
	}
	// -0.00 is zero: accepted where zero is, as 0.00.
	resp, err = a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-neg-zero",
		Order: "o-zero", Customer: "c4", Lines: lines("1.00"), Shipping: "-0.00"}))
	if err != nil || resp.Msg.GetOrder().GetShipping() != "0.00" {
		t.Fatalf("shipping -0.00: %v %v, want 0.00", resp, err)
	}
}

// amountCase is a call refused for an amount, naming field.
type amountCase struct {
	name, field string
	call        func() error
}

// amountCalls make the calls of TestEveryAmountSharesOneBound, one amount
// of each at the value given: program "p", partner bob (code BOB), order o1.
type amountCalls struct {
	ctx context.Context
	a   *api
}

// outOfBounds are an amount over the maximum, or far over it, on every
// RPC and in every rules document field that has one.
func (c amountCalls) outOfBounds() []amountCase {
	const (
		e15 = "1000000000000000"
		e13 = "10000000000000"
	)
	huge := "1" + strings.Repeat("0", 100000)
	return []amountCase{
		{"simulate shipping 10^15", "shipping", c.simulate("", e15)},
		{"simulate attributed shipping 10^15", "shipping", c.simulate("bob", e15)},
		{"attributed pay shipping 10^15", "shipping", c.pay(e15, "10.00")},
		{"pay shipping 10^13", "shipping", c.pay(e13, "10.00")},
		{"pay line 10^13", "lines[0].amount", c.pay("", e13)},
		{"pay lines of one product adding up past the maximum", "lines[1].amount", c.pay("", "9999999999999.99", "0.01")},
		{"pay line 10^100000", "lines[0].amount", c.pay("", huge)},
		{"refund shipping 10^15", "shipping", c.refundShipping(e15)},
		{"amend line 10^13", "lines[0].amount", c.amend(e13)},
		{"post 10^100000", "entries[0].amount", c.post(huge)},
		{"post 10^13", "entries[0].amount", c.post(e13)},
		{"advance 10^1000", "amount", c.advance("1" + strings.Repeat("0", 1000))},
		{"spend 40 digits", "amount", c.spend(strings.Repeat("9", 40))},
		{"payout minimum 10^13", "document.payout.minimum", c.rules("currency: USD\ncommission: {default: 10%}\npayout: {minimum: \"" + e13 + "\"}\n")},
		{"flat 10^13", "document.commission.default.flat", c.rules("currency: USD\ncommission: {default: {flat: \"" + e13 + "\"}}\n")},
		{"tier min_volume 10^13", "document.tiers[1].min_volume", c.rules("currency: USD\ncommission: {default: 10%}\ntiers:\n  - {name: A, min_volume: \"0\", rate: 5%}\n  - {name: B, min_volume: \"" + e13 + "\", rate: 7%}\n")},
	}
}

func (c amountCalls) pay(shipping string, l ...string) func() error {
	return func() error {
		_, err := c.a.orders.PayOrder(c.ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "pay-bad",
			Order: "o-bad", Customer: "c2", PartnerCode: "BOB", Lines: lines(l...), Shipping: shipping}))
		return err
	}
}

func (c amountCalls) simulate(partner, shipping string) func() error {
	return func() error {
		_, err := c.a.programs.SimulateOrder(c.ctx, connect.NewRequest(&accruev1.SimulateOrderRequest{Program: "p",
			Partner: partner, Lines: lines("10.00"), Shipping: shipping}))
		return err
	}
}

func (c amountCalls) rules(doc string) func() error {
	return func() error {
		_, err := c.a.programs.PutRules(c.ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules-bad", Document: doc}))
		return err
	}
}

func (c amountCalls) refundShipping(shipping string) func() error {
	return func() error {
		_, err := c.a.orders.RefundOrder(c.ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: "p", IdempotencyKey: "refund-bad",
			Order: "o1", Shipping: shipping}))
		return err
	}
}

func (c amountCalls) amend(line string) func() error {
	return func() error {
		_, err := c.a.orders.AmendOrder(c.ctx, connect.NewRequest(&accruev1.AmendOrderRequest{Program: "p", IdempotencyKey: "amend-bad",
			Order: "o1", Lines: lines(line)}))
		return err
	}
}

func (c amountCalls) post(amount string) func() error {
	return func() error {
		_, err := c.a.ledger.PostTransaction(c.ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "post-bad",
			Kind: "manual", Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, amount), entry("partner:bob:accrued", cr, amount)}}))
		return err
	}
}

func (c amountCalls) advance(amount string) func() error {
	return func() error {
		_, err := c.a.payouts.CreatePayout(c.ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: "p", IdempotencyKey: "payout-bad",
			Payout: "po1", Partner: "bob", Amount: amount, AllowAdvance: true}))
		return err
	}
}

func (c amountCalls) spend(amount string) func() error {
	return func() error {
		_, err := c.a.payouts.SpendCredit(c.ctx, connect.NewRequest(&accruev1.SpendCreditRequest{Program: "p", IdempotencyKey: "spend-bad",
			Spend: "s1", Partner: "bob", Amount: amount}))
		return err
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
	calls := datedCalls(ctx, a)
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
	checkReadTimesInRange(ctx, t, a, y2030)
}

// datedCalls are a write command of each kind, dated at: partner bob
// (code BOB) exists in program "p"; PutRules creates program "q".
func datedCalls(ctx context.Context, a *api) map[string]func(at *timestamppb.Timestamp) error {
	return map[string]func(at *timestamppb.Timestamp) error{
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
}

// checkReadTimesInRange: the times of reads and parent_until are refused
// only outside 1970..9999; an as_of in the future is allowed.
func checkReadTimesInRange(ctx context.Context, t *testing.T, a *api, y2030 *timestamppb.Timestamp) {
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
	u := &bobUpdates{ctx: ctx, t: t, a: a}
	u.must(&accruev1.UpdatePartnerRequest{Private: &accruev1.PartnerPrivate{Email: "new@example.com"}})
	full.Email = "new@example.com"
	u.want("an email without a mask", partnerActive, full)

	u.must(&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("status"), Status: partnerSuspended,
		Private: &accruev1.PartnerPrivate{Name: "not named"}})
	u.want("a status named by the mask", partnerSuspended, full)

	u.must(&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("private.bank_account", "private.bank_name")})
	full.BankAccount, full.BankName = "", ""
	u.want("bank details cleared by the mask", partnerSuspended, full)

	u.must(&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("private"), Private: &accruev1.PartnerPrivate{Name: "Robert"}})
	u.want("private replaced as a whole", partnerSuspended, &accruev1.PartnerPrivate{Name: "Robert"})

	before := a.rows(t)
	for _, tc := range []struct {
		req   *accruev1.UpdatePartnerRequest
		field string
	}{
		{&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("private.iban"), Private: &accruev1.PartnerPrivate{Email: "x@example.com"}}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("code")}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("name", "status"), Status: partnerActive}, "update_mask"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("status")}, "status"},
		{&accruev1.UpdatePartnerRequest{UpdateMask: fieldMask("parent")}, "parent"},
	} {
		wantField(t, u.update(tc.req), connect.CodeInvalidArgument, tc.field)
	}
	if after := a.rows(t); after != before {
		t.Fatalf("refused updates wrote rows: %v, before %v", after, before)
	}
	u.want("refused updates", partnerSuspended, &accruev1.PartnerPrivate{Name: "Robert"})
}

const (
	partnerActive    = accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE
	partnerSuspended = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
)

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// bobUpdates sends UpdatePartner requests for bob (under ann) in program
// "p", each with a key of its own, and checks what bob reads as after.
type bobUpdates struct {
	ctx context.Context
	t   *testing.T
	a   *api
	n   int
}

func (u *bobUpdates) update(r *accruev1.UpdatePartnerRequest) error {
	u.n++
	r.Program, r.Partner, r.IdempotencyKey = "p", "bob", fmt.Sprintf("upd-%d", u.n)
	_, err := u.a.partners.UpdatePartner(u.ctx, connect.NewRequest(r))
	return err
}

func (u *bobUpdates) must(r *accruev1.UpdatePartnerRequest) {
	u.t.Helper()
	if err := u.update(r); err != nil {
		u.t.Fatal(err)
	}
}

func (u *bobUpdates) want(what string, status accruev1.PartnerStatus, private *accruev1.PartnerPrivate) {
	u.t.Helper()
	got, err := u.a.partners.GetPartner(u.ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: "bob", IncludePrivate: true}))
	if err != nil {
		u.t.Fatal(err)
	}
	p := got.Msg.GetPartner()
	if p.GetStatus() != status || p.GetParent() != "ann" || !proto.Equal(p.GetPrivate(), private) {
		u.t.Fatalf("after %s: status %v, parent %q, private %v; want %v, ann, %v", what, p.GetStatus(), p.GetParent(), p.GetPrivate(), status, private)
	}
}
