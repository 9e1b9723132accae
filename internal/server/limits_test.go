package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// wantInvalid fails unless err is InvalidArgument naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Code != fault.CodeInvalidArgument || f.Field != field || !strings.HasPrefix(f.Error(), field+": ") {
		t.Errorf("%s: got %v, want invalid_argument on %s", what, err, field)
	}
}

// TestRequestLimits: over-long references are refused naming the field, and
// nothing is written.
func TestRequestLimits(t *testing.T) {
	h := newHarness(t, "0d")
	at := day(time.January, 2)
	h.register("rob", "", at)
	long := strings.Repeat("x", RefLenMax+1)

	_, err := (&partnerService{h.srv}).RegisterPartner(h.ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: "ann", Customer: long,
	}))
	wantInvalid(t, "a long partner customer", err, "customer")

	_, err = (&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(&accruev1.PayOrderRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Order: "o1", Customer: "c1",
		PartnerCode: strings.Repeat("R", partnerCodeLenMax+1), Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "10.00"}},
	}))
	wantInvalid(t, "a long partner code", err, "partner_code")

	for _, tc := range []struct {
		field string
		req   *accruev1.CreatePayoutRequest
	}{
		{"payout", &accruev1.CreatePayoutRequest{Payout: long, Partner: "rob", Amount: "1.00", AllowAdvance: true}},
		{"method", &accruev1.CreatePayoutRequest{Payout: "r1", Partner: "rob", Amount: "1.00", AllowAdvance: true, Method: long}},
		{"reference", &accruev1.CreatePayoutRequest{Payout: "r1", Partner: "rob", Amount: "1.00", AllowAdvance: true, Reference: long}},
	} {
		_, err := h.createPayout(h.key(), tc.req, at)
		wantInvalid(t, "a long payout "+tc.field, err, tc.field)
	}

	spend := func(id, order string) error {
		_, err := (&payoutService{h.srv}).SpendCredit(h.ctx, connect.NewRequest(&accruev1.SpendCreditRequest{
			Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Spend: id, Partner: "rob",
			Amount: "1.00", Order: order,
		}))
		return err
	}
	wantInvalid(t, "a long spend id", spend(long, ""), "spend")
	wantInvalid(t, "a long spend order", spend("s1", long), "order")

	var n int
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT (SELECT count(*) FROM partners) + (SELECT count(*) FROM orders)
		+ (SELECT count(*) FROM payouts) + (SELECT count(*) FROM spends)`).Scan(&n))
	if n != 1 {
		t.Errorf("%d partner, order, payout and spend rows, want rob's alone", n)
	}

	accounts := make([]string, BalanceAccountsMax+1)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("a%d", i)
	}
	_, err = (&ledgerService{h.srv}).GetBalances(h.ctx, connect.NewRequest(&accruev1.GetBalancesRequest{
		Program: testProgram, Accounts: accounts,
	}))
	wantInvalid(t, "too many balance accounts", err, "accounts")
}

// TestParentUntilAfterTheChange: ending the current parent link at or
// before the change takes effect is refused, as it is for a new link.
func TestParentUntilAfterTheChange(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("ann", "", day(time.January, 2))
	h.register("bob", "ann", day(time.January, 3))
	at := day(time.January, 10)
	for _, until := range []time.Time{at, at.Add(-time.Hour)} {
		_, err := (&partnerService{h.srv}).UpdatePartner(h.ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
			Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: "bob",
			ParentUntil: timestamppb.New(until),
		}))
		wantInvalid(t, "parent_until "+until.Format(time.RFC3339), err, "parent_until")
	}
	p, err := h.srv.partnerView(h.ctx, testProgram, "bob", at, false)
	h.must(err)
	if p.GetParent() != "ann" || p.GetParentUntil() != nil {
		t.Fatalf("bob's link changed: parent %q until %v", p.GetParent(), p.GetParentUntil())
	}
	_, err = (&partnerService{h.srv}).UpdatePartner(h.ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: "bob",
		ParentUntil: timestamppb.New(at.Add(time.Hour)),
	}))
	h.must(err)
}
