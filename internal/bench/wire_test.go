package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
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

// wrk's bodies, formatted in Lua, are the Go client's requests too, each
// under a key of its own.
func TestWrkBodiesAreTheClientsRequests(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (make deps installs it)")
	}
	var (
		mu     sync.Mutex
		bodies = map[string][][]byte{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if len(bodies[r.URL.Path]) < 50 {
			bodies[r.URL.Path] = append(bodies[r.URL.Path], b)
		}
		mu.Unlock()
	}))
	defer srv.Close()
	for _, req := range []wrkRequest{{accruev1connect.TrackingServiceRecordClickProcedure, wrkClickBody},
		{accruev1connect.OrderServicePayOrderProcedure, wrkOrderBody}} {
		res, err := runWrk(context.Background(), wrk, t.TempDir(), srv.URL, 2, time.Second, wrkScript(req, "prog", "w1-8-", 10))
		if err != nil || res.ok == 0 || res.failed != 0 {
			t.Fatalf("%s: %+v, %v", req.procedure, res, err)
		}
	}
	keys := map[string]bool{}
	for _, b := range bodies[accruev1connect.TrackingServiceRecordClickProcedure] {
		click := &accruev1.RecordClickRequest{}
		if err := protojson.Unmarshal(b, click); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var seq int64
		fmt.Sscanf(click.IdempotencyKey, "bench:wrk-click:%d", &seq)
		want := clickRequest(seq, click.Partner)
		want.Program, want.IdempotencyKey = "prog", click.IdempotencyKey
		if !proto.Equal(click, want) || !strings.HasPrefix(click.Partner, "P") || keys[click.IdempotencyKey] {
			t.Errorf("wrk's RecordClick body %s, want %v under a key of its own", b, want)
		}
		keys[click.IdempotencyKey] = true
	}
	for _, b := range bodies[accruev1connect.OrderServicePayOrderProcedure] {
		order := &accruev1.PayOrderRequest{}
		if err := protojson.Unmarshal(b, order); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := payOrderRequest("prog", order.Order, order.PartnerCode); !proto.Equal(order, want) ||
			!strings.HasPrefix(order.Order, "w1-8-") || keys[order.IdempotencyKey] {
			t.Errorf("wrk's PayOrder body %s, want %v under a key of its own", b, want)
		}
		keys[order.IdempotencyKey] = true
	}
	if len(keys) < 4 {
		t.Errorf("%d bodies seen, want requests of both kinds", len(keys))
	}
}
