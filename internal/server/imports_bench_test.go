package server

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkImportEvents imports calls of 1,000 events shaped as accrue
// bench's import case: a tenth registrations, then clicks and paid orders
// (by partner code) alternating, a millisecond apart.
func BenchmarkImportEvents(b *testing.B) {
	h := newHarness(b, "0d")
	h.clk.Set(importNow)
	h.must(h.beginImport())
	const batch = 1000
	b.ResetTimer()
	for call := range b.N {
		base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(call*batch) * time.Millisecond)
		events := make([]*accruev1.ImportEvent, batch)
		for i := range batch {
			id, p := fmt.Sprintf("i%d-%d", call, i), fmt.Sprintf("i%d-%d", call, (i*7)%(batch/10))
			at := timestamppb.New(base.Add(time.Duration(i) * time.Millisecond))
			switch {
			case i < batch/10:
				events[i] = &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RegisterPartner{RegisterPartner: &accruev1.RegisterPartnerRequest{
					IdempotencyKey: "r" + id, At: at, Partner: id, Code: id}}}
			case i%2 == 0:
				events[i] = &accruev1.ImportEvent{Event: &accruev1.ImportEvent_RecordClick{RecordClick: &accruev1.RecordClickRequest{
					IdempotencyKey: "c" + id, At: at, Partner: p, Visitor: "v" + id}}}
			default:
				events[i] = &accruev1.ImportEvent{Event: &accruev1.ImportEvent_PayOrder{PayOrder: &accruev1.PayOrderRequest{
					IdempotencyKey: "o" + id, At: at, Order: id, Customer: "c" + id, PartnerCode: p,
					Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "120.00"}, {Product: "belt", Amount: "35.50"}}}}}
			}
		}
		if _, err := h.importEvents(events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
