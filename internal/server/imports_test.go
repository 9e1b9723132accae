package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/pgtest"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// importNow is the clock of the import tests: April 2026, so February's
// and March's statement ticks (1 March, 1 April) have passed.
var importNow = time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)

// importRulesAt is when the imported program's rules start: its first
// period is 2026-02.
var importRulesAt = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// newImportHarness is a harness on a fresh database with the clock at
// importNow and no program yet; when begin, the import begins before the
// program's rules are put, as README's procedure says.
func newImportHarness(t *testing.T, begin bool) *harness {
	t.Helper()
	return newImportHarnessWith(t, begin, fmt.Sprintf(closeRules, "0d"))
}

// newImportHarnessWith is newImportHarness with the rules document doc.
func newImportHarnessWith(t *testing.T, begin bool, doc string) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatalf("database.Open: %v", err)
	}
	t.Cleanup(db.Pool.Close)
	clk := clock.NewSim(importNow)
	h := &harness{t: t, ctx: ctx, db: db, srv: New(db, clk, nil), clk: clk}
	if begin {
		h.must(h.beginImport())
	}
	_, err = (&programService{h.srv}).PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: testProgram, IdempotencyKey: "rules", At: timestamppb.New(importRulesAt),
		Document: doc,
	}))
	h.must(err)
	return h
}

func (h *harness) beginImport() error {
	_, err := (&importService{h.srv}).BeginImport(h.ctx, connect.NewRequest(&accruev1.BeginImportRequest{
		Program: testProgram, IdempotencyKey: h.key()}))
	return err
}

func (h *harness) finishImport() (*accruev1.FinishImportResponse, error) {
	resp, err := (&importService{h.srv}).FinishImport(h.ctx, connect.NewRequest(&accruev1.FinishImportRequest{
		Program: testProgram, IdempotencyKey: h.key()}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// importEvents sends events as one ImportEvents call (cloned: the server
// fills the program in).
func (h *harness) importEvents(events []*accruev1.ImportEvent) (*accruev1.ImportEventsResponse, error) {
	req := &accruev1.ImportEventsRequest{Program: testProgram}
	for _, e := range events {
		req.Events = append(req.Events, proto.CloneOf(e))
	}
	resp, err := (&importService{h.srv}).ImportEvents(h.ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// sendSingle sends e through its single-event RPC.
func (h *harness) sendSingle(e *accruev1.ImportEvent) error {
	_, err := h.sendSingleResp(e)
	return err
}

// sendSingleResp sends e through its single-event RPC and returns its
// response.
func (h *harness) sendSingleResp(e *accruev1.ImportEvent) (proto.Message, error) {
	e = proto.CloneOf(e)
	r := e.ProtoReflect()
	msg := r.Get(r.WhichOneof(r.Descriptor().Oneofs().Get(0))).Message()
	msg.Set(msg.Descriptor().Fields().ByName("program"), protoreflect.ValueOfString(testProgram))
	switch x := e.GetEvent().(type) {
	case *accruev1.ImportEvent_RegisterPartner:
		return msgOf((&partnerService{h.srv}).RegisterPartner(h.ctx, connect.NewRequest(x.RegisterPartner)))
	case *accruev1.ImportEvent_RecordClick:
		return msgOf((&trackingService{h.srv}).RecordClick(h.ctx, connect.NewRequest(x.RecordClick)))
	case *accruev1.ImportEvent_PayOrder:
		return msgOf((&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(x.PayOrder)))
	case *accruev1.ImportEvent_CompleteOrder:
		return msgOf((&orderService{h.srv}).CompleteOrder(h.ctx, connect.NewRequest(x.CompleteOrder)))
	case *accruev1.ImportEvent_RefundOrder:
		return msgOf((&orderService{h.srv}).RefundOrder(h.ctx, connect.NewRequest(x.RefundOrder)))
	case *accruev1.ImportEvent_AmendOrder:
		return msgOf((&orderService{h.srv}).AmendOrder(h.ctx, connect.NewRequest(x.AmendOrder)))
	case *accruev1.ImportEvent_CancelOrder:
		return msgOf((&orderService{h.srv}).CancelOrder(h.ctx, connect.NewRequest(x.CancelOrder)))
	}
	return nil, fmt.Errorf("event %v has no input", e)
}

// msgOf is a Connect response's message.
func msgOf[T any](r *connect.Response[T], err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return any(r.Msg).(proto.Message), nil
}

func bag(amount string) []*accruev1.OrderLine {
	return []*accruev1.OrderLine{{Product: "bag", Amount: amount}}
}

// february is a month of history: three partners (b under a), clicks,
// orders by code and by click, refunds, an amendment, a completion and a
// cancellation, in time order, with a single program field left empty.
func february() []*accruev1.ImportEvent {
	var out []*accruev1.ImportEvent
	n := 0
	at := func(d, h int) *timestamppb.Timestamp {
		n++
		return timestamppb.New(time.Date(2026, 2, d, h, n%60, 0, 0, time.UTC))
	}
	key := func() string { return fmt.Sprintf("hist-%d", len(out)) }
	add := func(e *accruev1.ImportEvent) { out = append(out, e) }
	for _, p := range []struct{ id, parent string }{{"alice", ""}, {"bob", "alice"}, {"carol", ""}} {
		add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RegisterPartner{RegisterPartner: &accruev1.RegisterPartnerRequest{
			IdempotencyKey: key(), At: at(1, 1), Partner: p.id, Code: strings.ToUpper(p.id), Parent: p.parent}}})
	}
	for d := 2; d <= 27; d++ {
		partner := []string{"alice", "bob", "carol"}[d%3]
		visitor := fmt.Sprintf("v%d", d)
		add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
			IdempotencyKey: key(), At: at(d, 2), Partner: strings.ToUpper(partner), Visitor: visitor, UtmSource: "mail"}}})
		add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
			IdempotencyKey: key(), At: at(d, 3), Partner: "alice", Visitor: visitor + "-x"}}})
		order := fmt.Sprintf("o%d", d)
		pay := &accruev1.PayOrderRequest{IdempotencyKey: key(), At: at(d, 4), Order: order, Customer: "c" + order,
			Visitor: visitor, Lines: bag(fmt.Sprintf("%d.00", 100+d*37)), Shipping: "5.00"}
		if d%4 == 0 {
			pay.PartnerCode = "carol"
		}
		add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: pay}})
		switch d % 5 {
		case 0:
			add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RefundOrder{RefundOrder: &accruev1.RefundOrderRequest{
				IdempotencyKey: key(), At: at(d, 5), Order: order, Lines: bag("33.33")}}})
		case 1:
			add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_AmendOrder{AmendOrder: &accruev1.AmendOrderRequest{
				IdempotencyKey: key(), At: at(d, 5), Order: order, Lines: bag("99.99")}}})
		case 2:
			add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_CompleteOrder{CompleteOrder: &accruev1.CompleteOrderRequest{
				IdempotencyKey: key(), At: at(d, 5), Order: order}}})
		case 3:
			add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_CancelOrder{CancelOrder: &accruev1.CancelOrderRequest{
				IdempotencyKey: key(), At: at(d, 5), Order: order}}})
		}
	}
	return out
}

// chunks splits events into calls of n.
func chunks(events []*accruev1.ImportEvent, n int) [][]*accruev1.ImportEvent {
	var out [][]*accruev1.ImportEvent
	for len(events) > n {
		out, events = append(out, events[:n]), events[n:]
	}
	return append(out, events)
}

// everyStatement lists the statements of every partner of the history in
// February and March, comparable across runs.
func (h *harness) everyStatement() []*accruev1.Statement {
	var out []*accruev1.Statement
	for _, period := range []string{"2026-02", "2026-03"} {
		out = append(out, comparable(h.statements("", period))...)
	}
	return out
}

// TestImportEqualsSingleEvents: a month of history imported in calls of 17
// events, then finished (the held closes of February and March run),
// leaves exactly the journal, balances and statements of the same events
// sent one by one through the single RPCs and closed by the scheduler.
func TestImportEqualsSingleEvents(t *testing.T) {
	events := february()
	single := newImportHarness(t, false)
	for i, e := range events {
		if err := single.sendSingle(e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	single.must(single.srv.RunDueCloses(single.ctx, importNow))

	imp := newImportHarness(t, true)
	for _, call := range chunks(events, 17) {
		resp, err := imp.importEvents(call)
		imp.must(err)
		if int(resp.GetApplied()) != len(call) || len(resp.GetResults()) != len(call) {
			t.Fatalf("applied %d of %d, %d results", resp.GetApplied(), len(call), len(resp.GetResults()))
		}
	}
	done, err := imp.finishImport()
	imp.must(err)
	if done.GetOpenPeriod() != "2026-04" {
		t.Errorf("open period after finish: %q, want 2026-04", done.GetOpenPeriod())
	}
	if len(single.everyStatement()) < 3 {
		t.Fatalf("the history has %d statements; want one per partner", len(single.everyStatement()))
	}
	if got, want := imp.journal(), single.journal(); !slices.Equal(got, want) {
		t.Errorf("journal of the import differs:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := imp.balances(), single.balances(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("balances %v, want %v", got, want)
	}
	got, want := imp.everyStatement(), single.everyStatement()
	if !slices.EqualFunc(got, want, func(a, b *accruev1.Statement) bool { return proto.Equal(a, b) }) {
		t.Errorf("statements differ:\n%v\nwant\n%v", got, want)
	}
}

// wantFault fails unless err is a fault with code and field.
func wantFault(t *testing.T, err error, code fault.Code, field string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Code != code || f.Field != field {
		t.Fatalf("got %v, want code %d on field %q", err, code, field)
	}
}
