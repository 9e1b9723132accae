package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// tierRules are closeRules with volume tiers: a partner's orders past
// 1,000.00 of sales earn 7% instead of 5%.
const tierRules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
commission: {default: 10%}
tiers:
  - {name: Bronze, min_volume: "0", rate: 5%}
  - {name: Silver, min_volume: "1000.00", rate: 7%}
upline:
  - {level: 1, rate: 2%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// history builds the events of an import, a minute apart unless same.
type history struct {
	events []*accruev1.ImportEvent
	at     time.Time
}

func (h *history) add(e *accruev1.ImportEvent) { h.events = append(h.events, e) }

// next is the next event's key and time.
func (h *history) next() (string, *timestamppb.Timestamp) {
	h.at = h.at.Add(time.Minute)
	return fmt.Sprintf("mix-%d", len(h.events)), timestamppb.New(h.at)
}

func (h *history) register(id, parent string) {
	key, at := h.next()
	h.add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RegisterPartner{RegisterPartner: &accruev1.RegisterPartnerRequest{
		IdempotencyKey: key, At: at, Partner: id, Code: strings.ToUpper(id), Parent: parent}}})
}

func (h *history) click(partner, visitor string) {
	key, at := h.next()
	h.add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
		IdempotencyKey: key, At: at, Partner: partner, Visitor: visitor}}})
}

// pay adds a payment of order by code (when set) or by visitor and
// returns it.
func (h *history) pay(order, code, visitor, amount string) *accruev1.ImportEvent {
	key, at := h.next()
	e := &accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: &accruev1.PayOrderRequest{
		IdempotencyKey: key, At: at, Order: order, Customer: "c-" + order, Visitor: visitor, PartnerCode: code, Lines: bag(amount)}}}
	h.add(e)
	return e
}

func (h *history) refund(order, amount string) {
	key, at := h.next()
	h.add(&accruev1.ImportEvent{Event: &accruev1.ImportEvent_RefundOrder{RefundOrder: &accruev1.RefundOrderRequest{
		IdempotencyKey: key, At: at, Order: order, Lines: bag(amount)}}})
}

// mixedHistory is a few hundred events: a run of registrations (children
// under partners registered earlier in the run), then rounds of clicks and
// payments by code (three partners, each crossing the Silver tier within
// one run of payments, each with an upline), by click and unattributed,
// refunds in between, a second run of registrations midway, and one
// payment sent twice in a row (same key and payload: the second replays).
func mixedHistory() []*accruev1.ImportEvent {
	h := &history{at: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 20 {
		parent := ""
		if i >= 5 {
			parent = fmt.Sprintf("p%d", i%5)
		}
		h.register(fmt.Sprintf("p%d", i), parent)
	}
	for r := range 70 {
		code, visitor := fmt.Sprintf("P%d", 5+r%3), fmt.Sprintf("v%d", r)
		h.click(fmt.Sprintf("P%d", 10+r%4), visitor)
		h.pay(fmt.Sprintf("o%d", r), code, "", fmt.Sprintf("%d.00", 150+r*7))
		h.pay(fmt.Sprintf("v-o%d", r), "", visitor, "80.00")
		if r%4 == 0 {
			h.pay(fmt.Sprintf("n-o%d", r), "", "nobody", "20.00")
		}
		switch {
		case r%9 == 8:
			h.refund(fmt.Sprintf("o%d", r-3), "50.00")
		case r == 30:
			h.register("q0", "p0")
			h.register("q1", "q0")
			h.register("q2", "")
		case r == 40:
			h.add(h.pay("q-o40", "Q1", "", "300.00"))
		}
	}
	return h.events
}

// TestImportBatchEqualsSingleEvents: a few hundred mixed events imported
// in one call end with exactly the orders, journal, balances and
// responses of the same events sent one by one through the single RPCs
// to a program of the same rules on another database.
func TestImportBatchEqualsSingleEvents(t *testing.T) {
	events := mixedHistory()
	single := newImportHarnessWith(t, false, tierRules)
	want := make([]proto.Message, len(events))
	for i, e := range events {
		var err error
		if want[i], err = single.sendSingleResp(e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}

	imp := newImportHarnessWith(t, true, tierRules)
	resp, err := imp.importEvents(events)
	imp.must(err)
	if int(resp.GetApplied()) != len(events)-1 || resp.GetReplayed() != 1 {
		t.Fatalf("applied %d and replayed %d of %d; want one replay (the payment sent twice)", resp.GetApplied(), resp.GetReplayed(), len(events))
	}
	for i, e := range events {
		got, err := imp.sendSingleResp(e) // replays the response the import stored
		imp.must(err)
		if !proto.Equal(withoutReplayed(got), withoutReplayed(want[i])) {
			t.Fatalf("event %d's response:\n%v\nwant\n%v", i, got, want[i])
		}
	}
	if got, want := imp.journal(), single.journal(); !slices.Equal(got, want) {
		t.Errorf("journal of the import differs:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := imp.balances(), single.balances(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("balances %v, want %v", got, want)
	}
	for _, e := range events {
		if pay := e.GetPayOrder(); pay != nil {
			if got, want := imp.order(pay.GetOrder()), single.order(pay.GetOrder()); !proto.Equal(got, want) {
				t.Errorf("order %s:\n%v\nwant\n%v", pay.GetOrder(), got, want)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(single.order("o69")), "Silver") {
		t.Errorf("the history never reaches the Silver tier: %v", single.order("o69"))
	}
}

// withoutReplayed is m without its replayed flag (a replay answers the
// first response with it set).
func withoutReplayed(m proto.Message) proto.Message {
	m = proto.Clone(m)
	r := m.ProtoReflect()
	if f := r.Descriptor().Fields().ByName("replayed"); f != nil {
		r.Clear(f)
	}
	return m
}

// order is GetOrder's order.
func (h *harness) order(id string) *accruev1.Order {
	h.t.Helper()
	resp, err := (&orderService{h.srv}).GetOrder(h.ctx, connect.NewRequest(&accruev1.GetOrderRequest{Program: testProgram, Order: id}))
	h.must(err)
	return resp.Msg.GetOrder()
}

// TestImportBatchSentTwiceReplays: the mixed history sent again replays
// every event and writes nothing.
func TestImportBatchSentTwiceReplays(t *testing.T) {
	h := newImportHarnessWith(t, true, tierRules)
	events := mixedHistory()
	_, err := h.importEvents(events)
	h.must(err)
	journal, balances := h.journal(), h.balances()
	resp, err := h.importEvents(events)
	h.must(err)
	if int(resp.GetReplayed()) != len(events) || resp.GetApplied() != 0 {
		t.Fatalf("the call sent again applied %d, replayed %d of %d", resp.GetApplied(), resp.GetReplayed(), len(events))
	}
	if !slices.Equal(h.journal(), journal) || fmt.Sprint(h.balances()) != fmt.Sprint(balances) {
		t.Fatal("the call sent again changed the journal or the balances")
	}
}

// TestImportBatchRefusals: a key repeated in a call with another payload
// (a payment, a registration), an order paid twice in one call and a
// parent registered after its child refuse the call naming the event,
// writing nothing; when a batch would find a later event's fault first
// (an order paid twice) the call names the first event refused (an
// unknown lead before it), as one by one.
func TestImportBatchRefusals(t *testing.T) {
	h := newImportHarnessWith(t, true, tierRules)
	base := func() *history {
		b := &history{at: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
		b.register("a", "")
		b.register("b", "a")
		b.pay("o1", "A", "", "100.00")
		b.pay("o2", "B", "", "100.00")
		return b
	}
	b := base()
	again := proto.CloneOf(b.pay("o3", "A", "", "100.00"))
	again.GetPayOrder().Lines = bag("101.00")
	b.add(again)
	h.wantRefused(b.events, fault.CodeAlreadyExists, "events[5].pay_order.idempotency_key")

	b = base()
	reg := proto.CloneOf(b.events[1])
	reg.GetRegisterPartner().Partner, reg.GetRegisterPartner().Code = "c", "C"
	b.events = slices.Insert(b.events, 2, reg)
	h.wantRefused(b.events, fault.CodeAlreadyExists, "events[2].register_partner.idempotency_key")

	b = base()
	b.pay("o1", "B", "", "50.00")
	h.wantRefused(b.events, fault.CodeFailedPrecondition, "events[4].pay_order.order")

	b = base()
	b.events[3].GetPayOrder().Lead = "no-such-lead"
	b.pay("o1", "B", "", "50.00")
	h.wantRefused(b.events, fault.CodeNotFound, "events[3].pay_order.lead")

	b = &history{at: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	b.register("b", "a")
	b.register("a", "")
	h.wantRefused(b.events, fault.CodeNotFound, "events[0].register_partner.parent")

	b = &history{at: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	b.register("a", "")
	b.register("x", "")
	b.register("A", "") // code A is a's
	h.wantRefused(b.events, fault.CodeAlreadyExists, "events[2].register_partner.code")
	b.events[2].GetRegisterPartner().Partner, b.events[2].GetRegisterPartner().Code = "x", "X2"
	h.wantRefused(b.events, fault.CodeAlreadyExists, "events[2].register_partner.partner")
}

// wantRefused fails unless importing events is refused with code on field
// and leaves the journal, the balances and partner a as they were.
func (h *harness) wantRefused(events []*accruev1.ImportEvent, code fault.Code, field string) {
	h.t.Helper()
	journal, balances := h.journal(), h.balances()
	_, err := h.importEvents(events)
	wantFault(h.t.(*testing.T), err, code, field)
	if !slices.Equal(h.journal(), journal) || fmt.Sprint(h.balances()) != fmt.Sprint(balances) {
		h.t.Fatal("a refused call wrote to the journal")
	}
	if _, err := (&partnerService{h.srv}).GetPartner(h.ctx, connect.NewRequest(&accruev1.GetPartnerRequest{
		Program: testProgram, Partner: "a"})); fault.CodeOf(err) != fault.CodeNotFound {
		h.t.Fatalf("the registration of a refused call: %v", err)
	}
}
