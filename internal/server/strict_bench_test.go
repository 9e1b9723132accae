package server

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkStrictJSONRecordClicks decodes a RecordClicks body of 1,000
// clicks through the strict codec, as every such call is.
func BenchmarkStrictJSONRecordClicks(b *testing.B) {
	req := &accruev1.RecordClicksRequest{Program: "shop"}
	for i := range 1000 {
		req.Clicks = append(req.Clicks, &accruev1.RecordClickRequest{Program: "shop",
			IdempotencyKey: fmt.Sprintf("click-%d", i), Partner: "BOB", Visitor: fmt.Sprintf("v%d", i),
			Landing: "https://shop.example/bags", UtmSource: "bench"})
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var m accruev1.RecordClicksRequest
		if err := (strictJSON{}).Unmarshal(body, &m); err != nil || len(m.Clicks) != 1000 {
			b.Fatalf("decoded %d clicks: %v", len(m.Clicks), err)
		}
	}
}
