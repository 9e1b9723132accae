package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkPayOrder measures order events per second end to end through
// the order service (idempotency record, attribution by code, rules,
// upline walk, one journal posting touching the hot platform accounts),
// with 1, 8 and 32 concurrent callers.
func BenchmarkPayOrder(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			h := newHarness(b, "0d")
			const partners = 100
			for i := range partners {
				parent := ""
				if i > 0 {
					parent = fmt.Sprintf("p%d", i/2)
				}
				h.register(fmt.Sprintf("p%d", i), parent, day(1, 1))
			}
			orders := &orderService{h.srv}
			var (
				next    atomic.Int64
				wg      sync.WaitGroup
				errOnce sync.Once
				failed  error
			)
			b.ResetTimer()
			for range writers {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						_, err := orders.PayOrder(context.Background(), connect.NewRequest(&accruev1.PayOrderRequest{
							Program: testProgram, IdempotencyKey: fmt.Sprintf("o%d", i), At: timestamppb.New(day(1, 10)),
							Order: fmt.Sprintf("o%d", i), Customer: "c", PartnerCode: fmt.Sprintf("P%d", i%partners),
							Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "120.00"}, {Product: "belt", Amount: "35.50"}},
						}))
						if err != nil {
							errOnce.Do(func() { failed = err })
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if failed != nil {
				b.Fatal(failed)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
		})
	}
}
