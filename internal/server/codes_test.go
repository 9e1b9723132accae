package server

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestReferralCodesMatchInAnyCase pins SPEC §5: referral codes are unique
// and matched case-insensitively, on clicks and on orders alike, while the
// code is kept as given; a coupon no code can equal matches no partner.
func TestReferralCodesMatchInAnyCase(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	register := func(key, id, code string) error {
		_, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: key, At: at(1, 9), Partner: id, Code: code}))
		return err
	}
	if err := register("reg-robert", "robert", "BOB"); err != nil {
		t.Fatal(err)
	}
	if err := register("reg-k", "kelvin", "K1"); err != nil {
		t.Fatal(err)
	}
	partners := a.count(t, "partners")
	for _, code := range []string{"Bob", "bob", "BOB"} {
		wantField(t, register("reg-"+code, "other-"+code, code), connect.CodeAlreadyExists, "code")
	}
	if n := a.count(t, "partners"); n != partners {
		t.Fatalf("refused registrations wrote partners: %d, want %d", n, partners)
	}
	got, err := a.partners.GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: "robert"}))
	if err != nil {
		t.Fatal(err)
	}
	if code := got.Msg.GetPartner().GetCode(); code != "BOB" {
		t.Errorf("stored code %q, want it as given: BOB", code)
	}

	click, err := a.tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: "p",
		IdempotencyKey: "click-1", At: at(2, 9), Partner: "bob", Visitor: "v1"}))
	if err != nil {
		t.Fatalf("click with code bob for BOB: %v", err)
	}
	if click.Msg.GetPartner() != "robert" {
		t.Errorf("click with bob went to %q, want robert", click.Msg.GetPartner())
	}
	pay := func(order, visitor, code string) *accruev1.Order {
		t.Helper()
		resp, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: order,
			At: at(3, 9), Order: order, Customer: "c-" + order, Visitor: visitor, PartnerCode: code,
			Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "100.00"}}}))
		if err != nil {
			t.Fatalf("pay %s: %v", order, err)
		}
		return resp.Msg.GetOrder()
	}
	if o := pay("o1", "", "bOb"); o.GetPartner() != "robert" || o.GetAttribution() != "partner_code" {
		t.Errorf("order with partner_code bOb: partner %q by %q, want robert by partner_code", o.GetPartner(), o.GetAttribution())
	}
	if o := pay("o2", "v1", ""); o.GetPartner() != "robert" || o.GetAttribution() != "last_click" {
		t.Errorf("order after the bob click: partner %q by %q, want robert by last_click", o.GetPartner(), o.GetAttribution())
	}
	// U+212A KELVIN SIGN folds to k in Unicode, but no code can hold it.
	if o := pay("o3", "", "\u212a1"); o.GetPartner() != "" {
		t.Errorf("coupon \\u212a1 attributed to %q, want no partner (codes are ASCII)", o.GetPartner())
	}
}
