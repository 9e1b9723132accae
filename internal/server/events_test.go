package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// outboxRows counts every event row, published or not.
func (h *harness) outboxRows() int {
	h.t.Helper()
	var n int
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM events`).Scan(&n))
	return n
}

// A refused request writes no event: the change and its events commit
// together or not at all.
func TestRefusedRequestWritesNoEvent(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("ann", "", day(1, 2))
	h.pay("o1", "ann", "100.00", day(1, 3))
	before := h.outboxRows()
	_, err := (&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(&accruev1.PayOrderRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(day(1, 4)), Order: "o1", Customer: "c-o1",
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "5.00"}},
	}))
	if err == nil || !strings.Contains(err.Error(), "already paid") {
		t.Fatalf("paying o1 again: %v, want already paid", err)
	}
	_, err = (&partnerService{h.srv}).RegisterPartner(h.ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: testProgram, IdempotencyKey: h.key(), Partner: "bob", Parent: "nobody",
	}))
	if err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("registering under a missing parent: %v, want refused", err)
	}
	if after := h.outboxRows(); after != before {
		t.Fatalf("events %d after refused requests, want %d", after, before)
	}
	types := []string{}
	for _, e := range h.feedAfterPublish() {
		types = append(types, e.GetType())
	}
	want := []string{"rules.updated", "partner.registered", "order.paid", "order.accrued"}
	if len(types) != len(want) {
		t.Fatalf("feed %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("feed %v, want %v", types, want)
		}
	}
}

func (h *harness) feedAfterPublish() []*accruev1.Event {
	h.t.Helper()
	_, err := h.srv.svc.PublishEvents(h.ctx)
	h.must(err)
	return h.feed()
}

// Two processes run the worker on one database: each event reaches the
// endpoint once, and one worker holds the lease.
func TestWebhookWorkerRunsOnceAcrossProcesses(t *testing.T) {
	h := newHarness(t, "0d")
	rc := &receiver{t: t}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	rc.secret, _ = h.subscribe(ts.URL)
	for _, p := range []string{"ann", "bob", "cyd", "dan"} {
		h.register(p, "", day(1, 2))
	}
	workers := []*webhook.Worker{
		h.srv.WebhookWorker(webhook.Options{AllowPrivate: true}),
		h.sibling().WebhookWorker(webhook.Options{AllowPrivate: true}),
	}
	held := make([]int, 2)
	for round := range 6 {
		var wg sync.WaitGroup
		for i, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := w.Step(h.ctx)
				if err != nil {
					t.Error(err)
				}
				if ok {
					held[i]++
				}
			}()
		}
		wg.Wait()
		if round == 2 {
			h.register("eve", "", day(1, 3))
		}
	}
	got := rc.delivered()
	seen := map[string]int{}
	for _, d := range got {
		seen[d.id]++
	}
	if len(got) != 5 || len(seen) != 5 {
		t.Fatalf("deliveries %v, want the 5 registrations once each", got)
	}
	if (held[0] == 0) == (held[1] == 0) {
		t.Fatalf("lease held %v rounds by each worker, want one worker only", held)
	}
}

// watchN receives n events of a stream from cursor `after`.
func watchN(t *testing.T, url string, after int64, n int) []*accruev1.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := accruev1connect.NewEventServiceClient(http.DefaultClient, url)
	stream, err := client.WatchEvents(ctx, connect.NewRequest(&accruev1.WatchEventsRequest{Program: testProgram, AfterSeq: after}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var out []*accruev1.Event
	for len(out) < n && stream.Receive() {
		out = append(out, stream.Msg().GetEvent())
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d of %d events: %v", len(out), n, stream.Err())
	}
	return out
}

// WatchEvents streams from a cursor; after the server restarts, a watch
// resumed from the last seq received gets the events since, in order,
// none lost or repeated.
func TestWatchEventsResumesAcrossRestart(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("ann", "", day(1, 2))
	h.pay("o1", "ann", "10.00", day(1, 3))
	h.feedAfterPublish()
	first := httptest.NewServer(h.srv.Handler())
	got := watchN(t, first.URL, 0, 2)
	first.Close()

	h.srv = New(h.db, h.clk, nil) // a restarted accrued
	h.pay("o2", "ann", "20.00", day(1, 4))
	h.feedAfterPublish()
	second := httptest.NewServer(h.srv.Handler())
	defer second.Close()
	want := h.feed()
	got = append(got, watchN(t, second.URL, got[len(got)-1].GetSeq(), len(want)-2)...)
	for i, e := range want {
		if got[i].GetId() != e.GetId() || got[i].GetSeq() != e.GetSeq() {
			t.Fatalf("watched event %d = %s seq %d, want %s seq %d", i, got[i].GetId(), got[i].GetSeq(), e.GetId(), e.GetSeq())
		}
	}
}
