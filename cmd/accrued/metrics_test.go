package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/telemetry"
	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestMetricsShowTheOutboxAndRefusals: accrued's /metrics shows a failing
// endpoint's attempts, its pending delivery and the lag of the event it
// waits for, then the delivery marked failed after a day; and a request
// the in-flight cap refuses, which no RPC metric sees.
func TestMetricsShowTheOutboxAndRefusals(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewSim(start.AddDate(0, 0, 10))
	srv := server.New(db, clk, nil)
	srv.SetInFlightMax(1)
	h, m, err := handler(srv, db, nil, &telemetry.Tracing{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	seed(t, srv, start)
	w := srv.WebhookWorker(webhook.Options{AllowPrivate: true, Observer: m.Outbox})
	step := func() {
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step() // publishes the seed's events: the endpoint starts after them
	events := accruev1connect.NewEventServiceClient(hs.Client(), hs.URL)
	if _, err := events.CreateWebhook(ctx, connect.NewRequest(&accruev1.CreateWebhookRequest{Program: "shop", IdempotencyKey: "hook",
		Url: down.URL, EventTypes: []string{"partner.registered"}})); err != nil {
		t.Fatal(err)
	}
	if _, err := accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL).RegisterPartner(ctx, connect.NewRequest(
		&accruev1.RegisterPartnerRequest{Program: "shop", IdempotencyKey: "reg-cy", Partner: "cy"})); err != nil {
		t.Fatal(err)
	}
	step()
	clk.Set(clk.Now().Add(time.Hour))
	wantMetrics(t, hs.URL, `accrue_webhook_attempts_total{outcome="error"} 1`, "accrue_outbox_pending_deliveries 1",
		"accrue_outbox_lag_seconds 3600", "accrue_webhook_failed_total 0", "accrue_rpc_refused_in_flight_total 0")
	clk.Set(clk.Now().Add(webhook.RetryWindow))
	step()
	wantMetrics(t, hs.URL, `accrue_webhook_attempts_total{outcome="error"} 2`, "accrue_outbox_pending_deliveries 0",
		"accrue_outbox_lag_seconds 0", "accrue_webhook_failed_total 1")

	// A watch holds the only slot; the next call is refused before Connect.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := events.WatchEvents(wctx, connect.NewRequest(&accruev1.WatchEventsRequest{Program: "shop"}))
	if err != nil || !stream.Receive() {
		t.Fatalf("watch: %v %v", err, stream.Err())
	}
	_, err = events.ListWebhooks(ctx, connect.NewRequest(&accruev1.ListWebhooksRequest{Program: "shop"}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("a call beyond the in-flight cap: %v", err)
	}
	wantMetrics(t, hs.URL, "accrue_rpc_refused_in_flight_total 1")
}

// wantMetrics scrapes base's /metrics and wants each line in it.
func wantMetrics(t *testing.T, base string, lines ...string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range lines {
		if !strings.Contains(string(b), "\n"+l+"\n") {
			t.Errorf("/metrics lacks %q", l)
		}
	}
}
