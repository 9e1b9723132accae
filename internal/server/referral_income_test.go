package server

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ListReferrals gives each referral its join date and the upline income
// its own orders brought the partner asked about, net of refunds: a earns
// 2% of b's two 40.00 orders and nothing from d's (b's upline income),
// b earns 2% of d's two 25.50 orders; a refund of one of b's orders takes
// its share back.
func TestReferralsJoinDateAndUplineIncome(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	batchFixture(t, a)
	income := func(partner string) map[string]string {
		t.Helper()
		r, err := a.partners.ListReferrals(ctx, connect.NewRequest(&accruev1.ListReferralsRequest{Program: "p", Partner: partner}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, ref := range r.Msg.GetReferrals() {
			out[ref.GetPartner()] = ref.GetUplineIncome()
			if got, want := ref.GetRegisteredAt().AsTime(), time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
				t.Errorf("%s joined %v, want %v", ref.GetPartner(), got, want)
			}
		}
		return out
	}
	check := func(partner string, want map[string]string) {
		t.Helper()
		got := income(partner)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s's income from %s: %q, want %q (all: %v)", partner, k, got[k], v, got)
			}
		}
	}
	check("a", map[string]string{"b": "1.60", "c": "0.00", "d": "0.00", "e": "0.00", "f": "0.00"})
	check("b", map[string]string{"d": "1.02", "e": "0.00"})
	// o9 is b's December order (clicks and orders share the fixture's counter).
	if _, err := a.orders.RefundOrder(ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: "p", IdempotencyKey: "refund-o9",
		At: timestamppb.New(time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)), Order: "o9",
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "40.00"}}})); err != nil {
		t.Fatal(err)
	}
	check("a", map[string]string{"b": "0.80"})
}
