package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/metrics"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const rules = "currency: USD\ncommission: {default: 10%}\n"

// TestRPCMetrics: after a few RPCs, /metrics counts them by procedure and
// code with a latency histogram, counts the order event and its posting
// once (the replay is not an event), records the period close, and
// reports the pool.
func TestRPCMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(metrics.NewPoolCollector(db.Pool.Stat))
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	srv := server.New(db, clock.NewSim(now), nil)
	srv.Observe(m)
	srv.UseOuterInterceptors(m.Interceptor())
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	programs := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL)
	partners := accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL)
	orders := accruev1connect.NewOrderServiceClient(hs.Client(), hs.URL)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	feb := func(d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 2, d, 12, 0, 0, 0, time.UTC))
	}
	must(programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "shop", IdempotencyKey: "r", At: feb(1), Document: rules})))
	must(partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: "shop", IdempotencyKey: "p", At: feb(2), Partner: "ann", Code: "ann"})))
	pay := &accruev1.PayOrderRequest{Program: "shop", IdempotencyKey: "o1", At: feb(5), Order: "o1", Customer: "c", PartnerCode: "ann",
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "100.00"}}}
	must(orders.PayOrder(ctx, connect.NewRequest(pay)))
	must(orders.PayOrder(ctx, connect.NewRequest(pay))) // a replay
	periods := accruev1connect.NewPeriodServiceClient(hs.Client(), hs.URL)
	must(periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{Program: "shop", IdempotencyKey: "c", Period: "2026-02"})))
	if _, err := orders.GetOrder(ctx, connect.NewRequest(&accruev1.GetOrderRequest{Program: "shop", Order: "nope"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("GetOrder of an unknown order: %v, want not_found", err)
	}

	text := scrape(t, metrics.Handler(reg))
	for _, want := range []string{
		`accrue_rpc_requests_total{code="ok",procedure="/accrue.v1.OrderService/PayOrder"} 2`,
		`accrue_rpc_requests_total{code="not_found",procedure="/accrue.v1.OrderService/GetOrder"} 1`,
		`accrue_rpc_requests_total{code="ok",procedure="/accrue.v1.ProgramService/PutRules"} 1`,
		`accrue_rpc_duration_seconds_count{code="ok",procedure="/accrue.v1.OrderService/PayOrder"} 2`,
		`accrue_rpc_duration_seconds_bucket{code="ok",procedure="/accrue.v1.OrderService/PayOrder",le="+Inf"} 2`,
		`accrue_order_events_total{event="pay"} 1`,
		`accrue_postings_total{kind="order.accrual"} 1`,
		`accrue_db_pool_max_connections 32`,
		`accrue_period_closes_total 1`,
		`accrue_period_close_partners_sum 1`,
		`accrue_period_close_duration_seconds_count 1`,
		`accrue_outbox_lag_seconds 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

// scrape GETs h's metrics as Prometheus would.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
