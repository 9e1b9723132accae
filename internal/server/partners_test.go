package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func at(day, hour int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2026, 1, day, hour, 0, 0, 0, time.UTC))
}

// TestReferralsLinksStatsAndProvenance walks a small program through the
// partner, tracking and order services and checks what a partner portal
// and an auditor read back.
func TestReferralsLinksStatsAndProvenance(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	register := func(id, parent, code string) {
		t.Helper()
		if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: "reg-" + id, At: at(1, 9), Partner: id, Parent: parent, Code: code})); err != nil {
			t.Fatal(err)
		}
	}
	register("ann", "", "ANN")
	register("ben", "ann", "")
	register("cid", "ben", "CID")
	register("dot", "ann", "DOT")
	checkReferrals(ctx, t, a)
	checkCodesAndLinks(ctx, t, a)
	checkClicksAndStats(ctx, t, a)
	checkProvenance(ctx, t, a)
	checkSimulation(ctx, t, a)
	_, err := a.partners.UpdatePartner(ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{Program: "p", IdempotencyKey: "cycle",
		At: at(5, 0), Partner: "ann", Parent: "cid"}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "parent") {
		t.Fatalf("cycle: %v, want invalid_argument naming parent", err)
	}
}

// checkReferrals: ann's tree lists breadth first, and pages.
func checkReferrals(ctx context.Context, t *testing.T, a *api) {
	refs, err := a.partners.ListReferrals(ctx, connect.NewRequest(&accruev1.ListReferralsRequest{Program: "p", Partner: "ann"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs.Msg.GetReferrals() {
		got = append(got, r.GetPartner()+"@"+string(rune('0'+r.GetDepth())))
	}
	if strings.Join(got, ",") != "ben@1,dot@1,cid@2" {
		t.Fatalf("referrals of ann = %v, want ben@1,dot@1,cid@2", got)
	}
	direct, err := a.partners.ListReferrals(ctx, connect.NewRequest(&accruev1.ListReferralsRequest{Program: "p", Partner: "ann", MaxDepth: 1, PageSize: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(direct.Msg.GetReferrals()); n != 1 || direct.Msg.GetNextPageToken() == "" {
		t.Fatalf("depth 1, page 1: %d referrals, token %q; want 1 and a next page", n, direct.Msg.GetNextPageToken())
	}
}

// checkCodesAndLinks: a partner without a code gets a generated one; a
// referral link carries the code and the UTM tags.
func checkCodesAndLinks(ctx context.Context, t *testing.T, a *api) {
	ben, err := a.partners.GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: "ben"}))
	if err != nil {
		t.Fatal(err)
	}
	if code := ben.Msg.GetPartner().GetCode(); len(code) != generatedCodeLen {
		t.Fatalf("generated code %q, want %d characters", code, generatedCodeLen)
	}
	link, err := a.partners.GetReferralLink(ctx, connect.NewRequest(&accruev1.GetReferralLinkRequest{Program: "p", Partner: "cid",
		Landing: "https://shop.example/bags?color=red", UtmSource: "blog", UtmCampaign: "winter"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://shop.example/bags?color=red&ref=CID&utm_campaign=winter&utm_source=blog"; link.Msg.GetUrl() != want {
		t.Fatalf("link %s, want %s", link.Msg.GetUrl(), want)
	}
}

// checkClicksAndStats: cid's clicks and the order of one of its visitors
// show in its stats row.
func checkClicksAndStats(ctx context.Context, t *testing.T, a *api) {
	tracking := a.tracking
	for i, v := range []string{"v1", "v1", "v2"} {
		if _, err := tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: "p",
			IdempotencyKey: "click-" + string(rune('a'+i)), At: at(2, 10+i), Partner: "CID", Visitor: v, UtmSource: "blog"})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "o1", At: at(3, 9),
		Order: "o1", Customer: "c1", Visitor: "v2", Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "100.00"}}, Shipping: "5.00"})); err != nil {
		t.Fatal(err)
	}
	stats, err := tracking.GetStats(ctx, connect.NewRequest(&accruev1.GetStatsRequest{Program: "p", Partner: "cid"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Msg.GetRows()) != 1 {
		t.Fatalf("stats rows %v, want one (cid, blog, 2026-01)", stats.Msg.GetRows())
	}
	r := stats.Msg.GetRows()[0]
	if r.GetMonth() != "2026-01" || r.GetClicks() != 3 || r.GetUniqueVisitors() != 2 || r.GetOrders() != 1 ||
		r.GetRevenue() != "105.00" || r.GetCommission() != "10.00" || r.GetConversionRate() != "0.5" {
		t.Fatalf("stats row %v", r)
	}
}

// checkProvenance: the order view says who the order is attributed to,
// how, and where each amount of its plan comes from.
func checkProvenance(ctx context.Context, t *testing.T, a *api) {
	order, err := a.orders.GetOrder(ctx, connect.NewRequest(&accruev1.GetOrderRequest{Program: "p", Order: "o1"}))
	if err != nil {
		t.Fatal(err)
	}
	o := order.Msg.GetOrder()
	if o.GetPartner() != "cid" || o.GetAttribution() != "last_click" || len(o.GetEvents()) != 1 || len(o.GetTransactions()) != 1 {
		t.Fatalf("order view %v", o)
	}
	plan := o.GetEvents()[0].GetPlan()
	if plan.GetCommission() != "10.00" || plan.GetLines()[0].GetRate() != "10%" || plan.GetLines()[0].GetSource() != "commission.default" ||
		plan.GetUpline()[0].GetPartner() != "ben" || plan.GetUpline()[0].GetAmount() != "2.00" {
		t.Fatalf("provenance %v", plan)
	}
}

// checkSimulation: a simulated order computes a plan and posts nothing.
func checkSimulation(ctx context.Context, t *testing.T, a *api) {
	sim, err := a.programs.SimulateOrder(ctx, connect.NewRequest(&accruev1.SimulateOrderRequest{Program: "p", Partner: "cid",
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "33.35"}}, At: at(4, 0)}))
	if err != nil {
		t.Fatal(err)
	}
	if sim.Msg.GetPlan().GetCommission() != "3.34" || sim.Msg.GetPlan().GetUpline()[0].GetAmount() != "0.67" {
		t.Fatalf("simulated plan %v, want 3.34 and upline 0.67", sim.Msg.GetPlan())
	}
	bal, err := a.ledger.GetBalances(ctx, connect.NewRequest(&accruev1.GetBalancesRequest{Program: "p", Accounts: []string{"partner:cid:accrued"}}))
	if err != nil {
		t.Fatal(err)
	}
	if bal.Msg.GetBalances()[0].GetBalance() != "10.00" {
		t.Fatalf("simulate posted something: cid accrued %s", bal.Msg.GetBalances()[0].GetBalance())
	}
}
