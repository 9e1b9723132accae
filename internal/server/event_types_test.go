package server

import (
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// A program's life writes every event type, each once per change, with
// the resource its RPC answers; clicks only once turned on; a filter by
// type selects them.
func TestEventTypesOfAProgramsLife(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("ann", "", day(1, 2))
	h.setStatus("ann", accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE, day(1, 2))
	click := func() {
		_, err := (&trackingService{h.srv}).RecordClick(h.ctx, connect.NewRequest(&accruev1.RecordClickRequest{
			Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(day(1, 2)), Partner: "ANN", Visitor: "v"}))
		h.must(err)
	}
	click()
	h.srv.RecordClickEvents(true)
	click()
	h.pay("o1", "ann", "2000.00", day(1, 3))
	h.refund("o1", "100.00", day(1, 4))
	h.close("2026-01", time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC))
	for i, settle := range []bool{true, false} {
		po, err := h.createPayout(h.key(), &accruev1.CreatePayoutRequest{Payout: []string{"po1", "po2"}[i], Partner: "ann", Amount: "10.00"}, day(2, 3))
		h.must(err)
		if settle {
			h.must(h.settle(po.GetPayout().GetId(), day(2, 4)))
		} else {
			h.must(h.fail(po.GetPayout().GetId(), day(2, 4)))
		}
	}
	if _, err := h.spend(h.key(), "sp1", "ann", "5.00", day(2, 5)); err != nil {
		t.Fatal(err)
	}
	_, err := (&payoutService{h.srv}).ReverseSpend(h.ctx, connect.NewRequest(&accruev1.ReverseSpendRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(day(2, 6)), Spend: "sp1"}))
	h.must(err)
	var types []string
	for _, e := range h.feedAfterPublish() {
		types = append(types, e.GetType())
	}
	want := []string{"rules.updated", "partner.registered", "partner.updated", "click.recorded", "order.paid", "order.accrued",
		"order.adjusted", "statement.issued", "period.closed", "payout.created", "payout.settled", "payout.created",
		"payout.failed", "credit.spent", "credit.reversed"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v\nwant   %v", types, want)
	}
	var paged []string
	for req := (&accruev1.ListEventsRequest{Program: testProgram, PageSize: 4}); ; {
		resp, err := (&eventService{h.srv}).ListEvents(h.ctx, connect.NewRequest(req))
		h.must(err)
		for _, e := range resp.Msg.GetEvents() {
			paged = append(paged, e.GetType())
		}
		if req.PageToken = resp.Msg.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged by 4: %v, want %v", paged, want)
	}
	resp, err := (&eventService{h.srv}).ListEvents(h.ctx, connect.NewRequest(&accruev1.ListEventsRequest{
		Program: testProgram, Types: []string{"statement.issued", "payout.settled"}}))
	h.must(err)
	got := resp.Msg.GetEvents()
	if len(got) != 2 || got[0].GetResource().GetFields()["partner"].GetStringValue() != "ann" ||
		got[1].GetResource().GetFields()["reference"].GetStringValue() != "bank-ref-po1" {
		t.Fatalf("filtered events %v, want ann's statement and the settled payout", got)
	}
	if _, err := (&eventService{h.srv}).ListEvents(h.ctx, connect.NewRequest(&accruev1.ListEventsRequest{
		Program: testProgram, Types: []string{"order.shipped"}})); err == nil {
		t.Fatal("an unknown type was accepted")
	}
}
