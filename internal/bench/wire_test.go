package bench

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// The bodies the load cases post are the requests the Connect clients
// send, member for member (strict: an unknown member fails).
func TestWireBodiesAreTheClientsRequests(t *testing.T) {
	order := &accruev1.PayOrderRequest{}
	if err := protojson.Unmarshal(payOrderBody("prog", "o1-8-3", "P7"), order); err != nil {
		t.Fatal(err)
	}
	if want := payOrderRequest("prog", "o1-8-3", "P7"); !proto.Equal(order, want) {
		t.Errorf("PayOrder body decodes to %v, want %v", order, want)
	}
	click := &accruev1.RecordClickRequest{}
	if err := protojson.Unmarshal(clickBody(42, "P9"), click); err != nil {
		t.Fatal(err)
	}
	if want := clickRequest(42, "P9"); !proto.Equal(click, want) {
		t.Errorf("RecordClick body decodes to %v, want %v", click, want)
	}
}

// An import call's body is its events' requests, each in its kind's
// member of the event message, in a list of the call's message.
func TestImportBodyIsTheEventsRequests(t *testing.T) {
	s, why := findImportShape()
	if s == nil {
		t.Fatal(why)
	}
	at := time.Date(2026, 11, 3, 4, 5, 6, 7000, time.UTC)
	events := []importEvent{{kind: importPartner, program: "prog", id: "i1-0", at: at},
		{kind: importClick, program: "prog", id: "i1-2", partner: "i1-0", at: at.Add(time.Millisecond)},
		{kind: importOrder, program: "prog", id: "i1-3", partner: "i1-0", at: at.Add(2 * time.Millisecond)}}
	raws := make([]json.RawMessage, len(events))
	for i, e := range events {
		raws[i] = e.body(s)
	}
	call := dynamicpb.NewMessage(s.method.Input())
	if err := protojson.Unmarshal(listBody("prog", s.list.JSONName(), raws), call); err != nil {
		t.Fatal(err)
	}
	list := call.Get(s.list).List()
	if list.Len() != len(events) {
		t.Fatalf("%d events decoded, want %d", list.Len(), len(events))
	}
	fields := []protoreflect.FieldDescriptor{s.partner, s.click, s.order}
	for i, e := range events {
		got := list.Get(i).Message().Get(fields[e.kind]).Message().Interface()
		want := e.request()
		gotBytes, _ := proto.MarshalOptions{Deterministic: true}.Marshal(got)
		wantBytes, _ := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		if string(gotBytes) != string(wantBytes) {
			t.Errorf("event %d decodes to %v, want %v", i, got, want)
		}
	}
}

// request is e as the single-event request it carries, what its body
// must decode to.
func (e importEvent) request() proto.Message {
	at := timestamppb.New(e.at)
	switch e.kind {
	case importPartner:
		return &accruev1.RegisterPartnerRequest{Program: e.program, IdempotencyKey: "bench:import:" + e.id, At: at, Partner: e.id, Code: e.id}
	case importClick:
		return &accruev1.RecordClickRequest{Program: e.program, IdempotencyKey: "bench:import:" + e.id, At: at, Partner: e.partner, Visitor: "v-" + e.id}
	}
	return &accruev1.PayOrderRequest{Program: e.program, IdempotencyKey: "bench:import:" + e.id, At: at, Order: e.id,
		Customer: "c-" + e.id, PartnerCode: e.partner, Lines: orderLines()}
}
