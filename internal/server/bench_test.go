package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// BenchmarkPayOrder measures order events per second end to end through
// the order service (idempotency record, attribution by code, rules,
// upline walk, one journal posting touching the hot platform accounts),
// with 1, 8 and 32 concurrent callers; with webhook=true, an endpoint
// (a local receiver) subscribes to every event and the webhook worker
// publishes and delivers while the orders are paid.
func BenchmarkPayOrder(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		for _, subscribed := range []bool{false, true} {
			b.Run(fmt.Sprintf("writers=%d/webhook=%v", writers, subscribed), func(b *testing.B) {
				benchPayOrder(b, writers, subscribed)
			})
		}
	}
}

// benchPayOrder is one case of BenchmarkPayOrder.
func benchPayOrder(b *testing.B, writers int, subscribed bool) {
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
	if subscribed {
		stop := h.deliverInBackground()
		defer func() { b.ReportMetric(float64(stop()), "delivered") }()
	}
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
}

// deliverInBackground subscribes a local receiver that answers 200 to
// every event and runs the webhook worker until stop is called; stop
// returns how many deliveries the receiver got.
func (h *harness) deliverInBackground() (stop func() int64) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
	}))
	h.subscribe(ts.URL)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.srv.WebhookWorker(webhook.Options{AllowPrivate: true}).Run(ctx)
	}()
	return func() int64 { cancel(); <-done; ts.Close(); return n.Load() }
}
