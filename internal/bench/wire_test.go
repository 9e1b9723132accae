package bench

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

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
