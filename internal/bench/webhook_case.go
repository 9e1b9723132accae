package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// hooksProgram is the program of the webhook case: its own, so the
// endpoint gets only the events of the orders paid while it is measured.
const hooksProgram = "bench-hooks"

// webhookCase is the PayOrder case at the fewest connections again, on a
// program with a webhook endpoint subscribed to every event (a receiver in
// this process answering 200; accrued runs with --webhooks-allow-private):
// the outbox's cost with deliveries going on, beside orders_N_per_s
// without. At the end it reports what was delivered and accrued's outbox
// lag and pending deliveries from /metrics.
func (r *run) webhookCase(ctx context.Context) {
	conns := slices.Min(r.opts.OrderConns)
	name := fmt.Sprintf("PayOrder with a webhook subscribed to every event, %d connections", conns)
	rate := Figure{ID: fmt.Sprintf("orders_webhook_%d_per_s", conns), Name: name, Unit: "orders/s"}
	lag := Figure{ID: fmt.Sprintf("orders_webhook_%d_lag_s", conns), Name: name + ", outbox lag at the end", Unit: "s"}
	var received atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	if err := r.subscribeHooks(ctx, rc.URL); err != nil {
		r.failAll(err, rate, lag)
		return
	}
	c := r.api.withConns(conns)
	r.logf("PayOrder with a webhook at %d connections for %v", conns, r.opts.Duration)
	res := runLoad(ctx, conns, r.opts.Duration, 1, func(ctx context.Context, seq int64) error {
		return c.payOrder(ctx, hooksProgram, fmt.Sprintf("h%d-%d", conns, seq), rand.IntN(r.opts.Partners), time.Time{})
	})
	if err := res.err(); err != nil {
		r.failAll(err, rate, lag)
		return
	}
	outbox, err := r.outboxMetrics(ctx)
	if err != nil {
		r.failAll(err, rate, lag)
		return
	}
	rate.Value, rate.Ratio = res.perSecond(), r.ratio(res.perSecond())
	rate.Note = fmt.Sprintf("%d orders in %v; %d deliveries received by the end (2 events an order), %.0f pending",
		res.ok, res.elapsed.Round(time.Millisecond), received.Load(), outbox["accrue_outbox_pending_deliveries"])
	lag.Value = outbox["accrue_outbox_lag_seconds"]
	lag.Note = "age of the oldest event not yet delivered, read from /metrics right after the load"
	r.report.add(rate)
	r.report.add(lag)
	r.logf("PayOrder with a webhook at %d connections: %.0f orders/s; %d delivered, lag %.1f s, %.0f pending", conns, rate.Value,
		received.Load(), lag.Value, outbox["accrue_outbox_pending_deliveries"])
	r.drainDeliveries(ctx, &received)
}

// deliveriesDrainMax bounds how long the webhook case waits, after its
// load, for the outbox to deliver what is pending.
const deliveriesDrainMax = time.Minute

// drainDeliveries waits, with the receiver still answering, until the
// outbox has nothing pending (up to deliveriesDrainMax) and logs how long
// that took: the later cases then run without the webhook worker retrying
// deliveries to a receiver that is gone.
func (r *run) drainDeliveries(ctx context.Context, received *atomic.Int64) {
	start := time.Now()
	for time.Since(start) < deliveriesDrainMax {
		outbox, err := r.outboxMetrics(ctx)
		if err != nil {
			r.logf("webhook deliveries not drained: %v", err)
			return
		}
		if outbox["accrue_outbox_pending_deliveries"] == 0 && outbox["accrue_outbox_lag_seconds"] == 0 {
			r.logf("webhook deliveries drained %v after the load (%d delivered in all)", time.Since(start).Round(100*time.Millisecond), received.Load())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	r.logf("webhook deliveries still pending %v after the load", deliveriesDrainMax)
}

// subscribeHooks creates the webhook program, its partners and an
// endpoint at url subscribed to every event type.
func (r *run) subscribeHooks(ctx context.Context, url string) error {
	if err := r.createProgram(ctx, hooksProgram); err != nil {
		return err
	}
	if err := r.registerPartners(ctx, hooksProgram, r.opts.Partners); err != nil {
		return err
	}
	events := accruev1connect.NewEventServiceClient(r.api.http, r.api.baseURL, connect.WithProtoJSON())
	_, err := events.CreateWebhook(ctx, connect.NewRequest(&accruev1.CreateWebhookRequest{Program: hooksProgram,
		IdempotencyKey: "bench:webhook", Url: url, Description: "bench receiver"}))
	if err != nil {
		return fmt.Errorf("bench: creating the webhook: %w", err)
	}
	return nil
}

// outboxMetrics reads accrued's accrue_outbox_* gauges from /metrics.
func (r *run) outboxMetrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.api.baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.api.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.HasPrefix(name, "accrue_outbox_") {
			if v, err := strconv.ParseFloat(value, 64); err == nil {
				out[name] = v
			}
		}
	}
	if _, ok := out["accrue_outbox_lag_seconds"]; !ok {
		return nil, fmt.Errorf("bench: /metrics has no accrue_outbox_lag_seconds (%s)", resp.Status)
	}
	return out, sc.Err()
}
