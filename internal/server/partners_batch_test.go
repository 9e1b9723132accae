package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// batchFixture registers a tree of partners (a > b > d > e, a > c > f, g
// alone; c suspended), clicks over three months and orders paid in two, on
// the API's program "p".
func batchFixture(t *testing.T, a *api) {
	t.Helper()
	ctx := context.Background()
	jan := func(day int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2025, 11, day, 12, 0, 0, 0, time.UTC))
	}
	for _, p := range [][2]string{{"a", ""}, {"b", "a"}, {"c", "a"}, {"d", "b"}, {"e", "d"}, {"f", "c"}, {"g", ""}} {
		if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: "reg-" + p[0], At: jan(1), Partner: p[0], Parent: p[1], Code: "CODE" + p[0]})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.partners.UpdatePartner(ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{Program: "p", IdempotencyKey: "susp-c",
		At: jan(2), Partner: "c", Status: accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED})); err != nil {
		t.Fatal(err)
	}
	n := 0
	click := func(at time.Time, partner, visitor, source string) {
		n++
		if _, err := a.tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: "p",
			IdempotencyKey: fmt.Sprintf("click-%d", n), At: timestamppb.New(at), Partner: partner, Visitor: visitor, UtmSource: source})); err != nil {
			t.Fatal(err)
		}
	}
	order := func(at time.Time, visitor, code, amount string) {
		n++
		if _, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: fmt.Sprintf("o-%d", n),
			At: timestamppb.New(at), Order: fmt.Sprintf("o%d", n), Customer: "cust-" + visitor, Visitor: visitor, PartnerCode: code,
			Lines: []*accruev1.OrderLine{{Product: "bag", Amount: amount}}})); err != nil {
			t.Fatal(err)
		}
	}
	for m, month := range []time.Month{time.November, time.December, time.January} {
		year := 2025
		if month == time.January {
			year = 2026
		}
		day := func(d int) time.Time { return time.Date(year, month, d, 10, 0, 0, 0, time.UTC) }
		click(day(3), "CODEb", fmt.Sprintf("vb%d", m), "blog")
		click(day(4), "CODEb", fmt.Sprintf("vb%d", m), "mail")
		click(day(5), "d", fmt.Sprintf("vd%d", m), "blog")
		click(day(6), "codee", "ve", "")
		if month != time.November {
			order(day(7), fmt.Sprintf("vb%d", m), "", "40.00")
			order(day(8), "", "CODEd", "25.50")
			order(day(9), "ve", "", "10.00")
		}
	}
}

// ListPartners pages (one query for the page and its links, one for the
// volumes) list exactly what GetPartner shows of each partner, whatever the
// page size.
func TestListPartnersPagesMatchGetPartner(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	batchFixture(t, a)
	var want []*accruev1.Partner
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		r, err := a.partners.GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: id}))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r.Msg.GetPartner())
	}
	for _, size := range []int32{1, 2, 3, 7, 100} {
		var got []*accruev1.Partner
		token := ""
		for pages := 0; ; pages++ {
			r, err := a.partners.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: "p", PageSize: size, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Msg.GetPartners()...)
			if token = r.Msg.GetNextPageToken(); token == "" || pages > 10 {
				break
			}
		}
		if !slices.EqualFunc(got, want, func(x, y *accruev1.Partner) bool { return proto.Equal(x, y) }) {
			t.Errorf("page size %d: listed %v\nwant %v", size, got, want)
		}
	}
}

// ListReferrals pages by (depth, partner) list the tree breadth first as
// one page does, for every page size and depth.
func TestListReferralsKeysetPages(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	batchFixture(t, a)
	want := map[int32][]string{
		0: {"b/a@1", "c/a@1", "d/b@2", "f/c@2", "e/d@3"},
		1: {"b/a@1", "c/a@1"},
		2: {"b/a@1", "c/a@1", "d/b@2", "f/c@2"},
	}
	for depth, rows := range want {
		for _, size := range []int32{1, 2, 3, 100} {
			var got []string
			token := ""
			for pages := 0; ; pages++ {
				r, err := a.partners.ListReferrals(ctx, connect.NewRequest(&accruev1.ListReferralsRequest{
					Program: "p", Partner: "a", MaxDepth: depth, PageSize: size, PageToken: token}))
				if err != nil {
					t.Fatal(err)
				}
				for _, ref := range r.Msg.GetReferrals() {
					got = append(got, fmt.Sprintf("%s/%s@%d", ref.GetPartner(), ref.GetParent(), ref.GetDepth()))
					if (ref.GetPartner() == "c") != (ref.GetStatus() == accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED) {
						t.Errorf("%s has status %v", ref.GetPartner(), ref.GetStatus())
					}
				}
				if token = r.Msg.GetNextPageToken(); token == "" || pages > 10 {
					break
				}
			}
			if !slices.Equal(got, rows) {
				t.Errorf("depth %d, page size %d: %v, want %v", depth, size, got, rows)
			}
		}
	}
}

// GetStats filtered in SQL returns exactly the rows of the whole program's
// statistics that the filter selects, as the filter in Go did before.
func TestGetStatsFiltersAsBefore(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	batchFixture(t, a)
	all, err := a.tracking.GetStats(ctx, connect.NewRequest(&accruev1.GetStatsRequest{Program: "p"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Msg.GetRows()) < 10 {
		t.Fatalf("the fixture has %d stats rows, want a dozen or so", len(all.Msg.GetRows()))
	}
	months := []string{"", "2025-11", "2025-12", "2026-01", "2025", "2025-12-15", "zzz"}
	for _, partner := range []string{"", "b", "d", "e", "nobody"} {
		for _, from := range months {
			for _, to := range months {
				var want []*accruev1.StatsRow
				for _, r := range all.Msg.GetRows() {
					if (partner == "" || r.GetPartner() == partner) && (from == "" || r.GetMonth() >= from) && (to == "" || r.GetMonth() <= to) {
						want = append(want, r)
					}
				}
				got, err := a.tracking.GetStats(ctx, connect.NewRequest(&accruev1.GetStatsRequest{Program: "p", Partner: partner, FromMonth: from, ToMonth: to}))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got.Msg.GetRows(), want, func(x, y *accruev1.StatsRow) bool { return proto.Equal(x, y) }) {
					t.Errorf("partner %q from %q to %q: %v\nwant %v", partner, from, to, got.Msg.GetRows(), want)
				}
			}
		}
	}
}
