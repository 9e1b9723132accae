package server

import (
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestStatementsAndPayoutsPage: ListStatements and ListPayouts page by
// keyset, every row exactly once, in order, and a bad token is refused.
func TestStatementsAndPayoutsPage(t *testing.T) {
	h := newHarness(t, "0d")
	const partners = 7
	for i := range partners {
		p := fmt.Sprintf("p%d", i)
		h.register(p, "", day(time.January, 2))
		h.pay("o"+p, p, "1500.00", day(time.January, 3))
	}
	h.close("2026-01", day(time.February, 2))
	periods := &periodService{h.srv}
	var got []string
	for token, pages := "", 0; ; pages++ {
		resp, err := periods.ListStatements(h.ctx, connect.NewRequest(&accruev1.ListStatementsRequest{Program: testProgram, PageSize: 3, PageToken: token}))
		h.must(err)
		for _, st := range resp.Msg.GetStatements() {
			got = append(got, st.GetPartner()+"@"+st.GetPeriod())
		}
		if token = resp.Msg.GetNextPageToken(); token == "" {
			if pages != 2 {
				t.Fatalf("%d pages of 3 for %d statements, want 3", pages+1, partners)
			}
			break
		}
	}
	if len(got) != partners || got[0] != "p0@2026-01" || got[partners-1] != "p6@2026-01" {
		t.Fatalf("statements paged as %v", got)
	}

	payouts := &payoutService{h.srv}
	for i := range partners {
		_, err := payouts.CreatePayout(h.ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: testProgram, IdempotencyKey: h.key(),
			At: timestamppb.New(day(time.February, 3+i)), Payout: fmt.Sprintf("q%d", i), Partner: fmt.Sprintf("p%d", i)}))
		h.must(err)
	}
	var ids []string
	for token := ""; ; {
		resp, err := payouts.ListPayouts(h.ctx, connect.NewRequest(&accruev1.ListPayoutsRequest{Program: testProgram, PageSize: 2, PageToken: token}))
		h.must(err)
		for _, po := range resp.Msg.GetPayouts() {
			ids = append(ids, po.GetId())
		}
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[q0 q1 q2 q3 q4 q5 q6]" {
		t.Fatalf("payouts paged as %v, want q0..q6 oldest first", ids)
	}
	_, err := payouts.ListPayouts(h.ctx, connect.NewRequest(&accruev1.ListPayoutsRequest{Program: testProgram, PageToken: "not-a-token"}))
	if fault.CodeOf(err) != fault.CodeInvalidArgument {
		t.Fatalf("a malformed page token: %v, want invalid_argument", err)
	}
}
