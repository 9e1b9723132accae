package webui_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/internal/webhook"
	"github.com/accrue/accrue/internal/webui"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// chromium is Debian's browser, which make deps installs.
const chromium = "/usr/bin/chromium"

// root is the repository's top, where node finds web/e2e and node_modules.
const root = "../.."

// startAccrued serves accrued's handler with the web UI on a fresh
// database, with the demo program loaded at now, and runs its webhook
// worker (private addresses allowed: the receiver is local).
func startAccrued(t *testing.T, clk *clock.Sim) (string, *txn.DB) {
	t.Helper()
	ctx := context.Background()
	dbURL, drop, err := pgtest.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop() })
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	srv := server.New(db, clk, nil)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.UseSigningKey(key)
	webui.Register(srv)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	if err := demo.Load(ctx, hs.URL, clk.Now()); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.WebhookWorker(webhook.Options{AllowPrivate: true}).Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	return hs.URL, db
}

// scenario runs node web/e2e/<name>.mjs against base; screenshots go to
// docs/screenshots.
func scenario(t *testing.T, name, base string, args ...string) {
	t.Helper()
	shots, err := filepath.Abs(filepath.Join(root, "docs", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join("web", "e2e", name+".mjs"), base, shots}, args...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", name, out)
	if err != nil {
		t.Fatalf("browser scenario %s failed: %v", name, err)
	}
}

// TestBrowser drives the cabinet and the console in a real browser: the
// partner's dashboard and link builder, then the admin's rules, simulate,
// close and payouts (web/e2e). Without chromium it fails: CI installs it
// (make deps).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser tests need Debian's chromium at %s (make deps installs it: apt-get install -y chromium): %v", chromium, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("the browser tests need node: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("the browser tests need playwright-core (make deps runs npm ci): %v", err)
	}
	now := time.Now().UTC()
	clk := clock.NewSim(now)
	base, db := startAccrued(t, clk)
	shop := subscribe(t, base)
	lead := "Мария Иванова"
	scenario(t, "partner", base, lead)
	shop.waitForLead(t, lead)

	// This month gets an order, then ends: the admin closes it.
	orders := accruev1connect.NewOrderServiceClient(http.DefaultClient, base)
	_, err := orders.PayOrder(context.Background(), connect.NewRequest(&accruev1.PayOrderRequest{
		Program: demo.Program, IdempotencyKey: "e2e:o-2001", Order: "o-2001", Customer: "c-9", PartnerCode: "ALICE",
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "1000.00"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	registerMany(t, db, bulkPartners, clk.Now())
	clk.Set(thisMonth.AddDate(0, 1, 1))
	scenario(t, "admin", base, thisMonth.Format("2006-01"))
}
