package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestImportReplayIsIdempotent: sending the same import again (before and
// after finishing it) replays every event and posts nothing more.
func TestImportReplayIsIdempotent(t *testing.T) {
	h := newImportHarness(t, true)
	calls := chunks(february(), 40)
	for _, call := range calls {
		_, err := h.importEvents(call)
		h.must(err)
	}
	journal, balances := h.journal(), h.balances()
	replayAll := func() {
		t.Helper()
		for _, call := range calls {
			resp, err := h.importEvents(call)
			h.must(err)
			if int(resp.GetReplayed()) != len(call) || resp.GetApplied() != 0 || !resp.GetResults()[0].GetReplayed() {
				t.Fatalf("a replayed call applied %d, replayed %d of %d", resp.GetApplied(), resp.GetReplayed(), len(call))
			}
		}
		if !slices.Equal(h.journal(), journal) || fmt.Sprint(h.balances()) != fmt.Sprint(balances) {
			t.Fatal("replaying the import changed the journal or the balances")
		}
	}
	replayAll()
	_, err := h.finishImport()
	h.must(err)
	journal, balances = h.journal(), h.balances()
	h.must(h.beginImport())
	replayAll() // events in the now closed February replay: they are not applied again
	// A single call with an imported event's key and payload replays too.
	e := february()[5].GetPayOrder()
	e.Program = testProgram
	resp, err := (&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(e))
	h.must(err)
	if !resp.Msg.GetReplayed() {
		t.Error("PayOrder with an imported key was not replayed")
	}
}

// TestImportHoldsTheScheduler: while importing, the scheduler closes
// nothing and ClosePeriod is refused naming the program; FinishImport
// closes the held months, February then March, each with statements.
func TestImportHoldsTheScheduler(t *testing.T) {
	h := newImportHarness(t, true)
	_, err := h.importEvents(february()[:20])
	h.must(err)
	h.must(h.srv.RunScheduled(h.ctx, importNow))
	if sts := h.statements("", ""); len(sts) != 0 {
		t.Fatalf("the scheduler closed an importing program: %d statements", len(sts))
	}
	_, err = h.closeWith(h.srv, "2026-02", importNow)
	wantFault(t, err, fault.CodeFailedPrecondition, "program")
	march := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: &accruev1.PayOrderRequest{
		IdempotencyKey: "march", At: timestamppb.New(day(time.March, 5)), Order: "m1", Customer: "cm1", PartnerCode: "CAROL",
		Lines: bag("2000.00")}}}
	if _, err := h.importEvents(append(february()[20:], march)); err != nil {
		t.Fatalf("events of February and March after the scheduler ran: %v", err)
	}
	if _, err := h.finishImport(); err != nil {
		t.Fatal(err)
	}
	for _, period := range []string{"2026-02", "2026-03"} {
		if len(h.statements("", period)) == 0 {
			t.Errorf("no statements for %s after FinishImport", period)
		}
	}
	firstClose := func(period string) int {
		return slices.IndexFunc(h.journal(), func(l string) bool { return strings.HasPrefix(l, "close:"+period) })
	}
	if feb, mar := firstClose("2026-02"), firstClose("2026-03"); feb < 0 || mar < 0 || feb > mar {
		t.Errorf("close postings of February at %d, of March at %d: want February first", feb, mar)
	}
	_, err = h.finishImport()
	wantFault(t, err, fault.CodeFailedPrecondition, "program")
	_, err = h.importEvents(february()[:1])
	wantFault(t, err, fault.CodeFailedPrecondition, "program")
}

// TestImportRefusals: an event out of order, before what an earlier call
// applied, in a closed month, failing its own use case, or malformed
// refuses the whole call with the event's field path, writing nothing;
// the call's limits hold.
func TestImportRefusals(t *testing.T) {
	h := newImportHarness(t, true)
	events := february()
	before := h.journal()
	swapped := slices.Clone(events[:8])
	swapped[5], swapped[6] = swapped[6], swapped[5] // a completion before its payment
	_, err := h.importEvents(swapped)
	wantFault(t, err, fault.CodeInvalidArgument, "events[6].pay_order.at")

	unknown := slices.Clone(events[:4])
	unknown = append(unknown, &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RefundOrder{RefundOrder: &accruev1.RefundOrderRequest{
		IdempotencyKey: "r-nope", At: timestamppb.New(day(time.February, 3)), Order: "nope", Lines: bag("1.00")}}})
	_, err = h.importEvents(unknown)
	wantFault(t, err, fault.CodeNotFound, "events[4].refund_order.order")
	if got := h.journal(); !slices.Equal(got, before) || len(h.statements("alice", "")) != 0 {
		t.Fatal("a refused call wrote")
	}
	if _, err := (&partnerService{h.srv}).GetPartner(h.ctx, connect.NewRequest(&accruev1.GetPartnerRequest{
		Program: testProgram, Partner: "alice"})); fault.CodeOf(err) != fault.CodeNotFound {
		t.Fatalf("the registration of a refused call: %v", err)
	}

	_, err = h.importEvents(events[:10])
	h.must(err)
	late := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
		IdempotencyKey: "late", At: timestamppb.New(day(time.February, 2)), Partner: "ALICE", Visitor: "v-late"}}}
	_, err = h.importEvents(append(slices.Clone(events[:10]), late)) // replays, then earlier than what was applied
	wantFault(t, err, fault.CodeInvalidArgument, "events[10].record_click.at")
	_, err = h.importEvents([]*accruev1.ImportEvent{late})
	wantFault(t, err, fault.CodeFailedPrecondition, "events[0].record_click.at")

	noAt := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: &accruev1.PayOrderRequest{
		IdempotencyKey: "no-at", Order: "o", Customer: "c", Lines: bag("1.00")}}}
	_, err = h.importEvents([]*accruev1.ImportEvent{noAt})
	wantFault(t, err, fault.CodeInvalidArgument, "events[0].pay_order.at")
	_, err = h.importEvents([]*accruev1.ImportEvent{{}})
	wantFault(t, err, fault.CodeInvalidArgument, "events[0]")
	other := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
		Program: "other", IdempotencyKey: "k", At: timestamppb.New(day(time.February, 3)), Partner: "ALICE", Visitor: "v"}}}
	_, err = h.importEvents([]*accruev1.ImportEvent{other})
	wantFault(t, err, fault.CodeInvalidArgument, "events[0].record_click.program")
	_, err = h.importEvents(nil)
	wantFault(t, err, fault.CodeInvalidArgument, "events")
	_, err = h.importEvents(make([]*accruev1.ImportEvent, 1001))
	wantFault(t, err, fault.CodeInvalidArgument, "events")
}

// TestImportIntoClosedMonth: a program whose January was closed before its
// import began refuses an imported event dated in January, naming it,
// instead of booking it in the open month.
func TestImportIntoClosedMonth(t *testing.T) {
	h := newHarness(t, "0d") // rules from 2026-01
	h.register("alice", "", day(time.January, 2))
	h.close("2026-01", day(time.February, 2))
	h.clk.Set(importNow)
	h.must(h.beginImport())
	click := func(key string, at time.Time) *accruev1.ImportEvent {
		return &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
			IdempotencyKey: key, At: timestamppb.New(at), Partner: "ALICE", Visitor: "v"}}}
	}
	pay := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: &accruev1.PayOrderRequest{
		IdempotencyKey: "p", At: timestamppb.New(day(time.January, 20)), Order: "o1", Customer: "c1", PartnerCode: "ALICE",
		Lines: bag("100.00")}}}
	_, err := h.importEvents([]*accruev1.ImportEvent{click("c1", day(time.January, 10)), pay})
	wantFault(t, err, fault.CodeFailedPrecondition, "events[0].record_click.at")
	_, err = h.importEvents([]*accruev1.ImportEvent{click("c2", day(time.February, 10)), pay})
	wantFault(t, err, fault.CodeInvalidArgument, "events[1].pay_order.at")
	if _, err := h.importEvents([]*accruev1.ImportEvent{click("c3", day(time.February, 10))}); err != nil {
		t.Fatalf("an event in the open month: %v", err)
	}
}
