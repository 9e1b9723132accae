package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/txn"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const twoProcessRules = `currency: USD
commission: {default: 10%}
payout: {minimum: "50.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// TestTwoProcessesCloseEachPeriodOnce starts two accrued processes on one
// database holding a program whose months from three months ago to last
// month have not been closed. Both schedulers catch up at start and race for the same
// closes; every period must end up closed once: one statement per partner
// and period, one release per partner and period, and a journal that
// verifies.
func TestTwoProcessesCloseEachPeriodOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)

	// The history, written in-process from the first month on (the one
	// three months before the current one), with the clock at now: an
	// event may not be dated after the server's clock.
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()-3, 1, 0, 0, 0, 0, time.UTC)
	firstPeriod := start.Format("2006-01")
	seed(t, server.New(db, clock.NewSim(now), nil), start)

	// Both processes sign seals with one key, created by whichever starts first.
	startAccrueds(t, buildAccrued(t), url, filepath.Join(t.TempDir(), "signing-key.pem"), 2)

	lastMonth := time.Now().UTC().AddDate(0, -1, 0).Format("2006-01")
	wantPeriods := 0
	for p := start; p.Format("2006-01") <= lastMonth; p = p.AddDate(0, 1, 0) {
		wantPeriods++
	}
	waitClosed(ctx, t, db, wantPeriods)
	checkClosedOnce(ctx, t, db, firstPeriod)
}

// startAccrueds starts n accrued processes of bin on the database at url,
// signing with keyFile, waits until each serves, and stops them when the
// test ends.
func startAccrueds(t *testing.T, bin, url, keyFile string, n int) {
	var (
		procs []*exec.Cmd
		addrs []string
	)
	t.Cleanup(func() { stopAll(t, procs) })
	for i := range n {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--listen", addr, "--database-url", url, "--signing-key", keyFile)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting accrued %d: %v", i, err)
		}
		procs = append(procs, cmd)
		addrs = append(addrs, addr)
	}
	for i, addr := range addrs {
		waitServing(t, i, addr)
	}
}

// waitClosed waits until program shop has want periods closed (a run that
// crosses a month boundary may close one more), for at most 2 minutes.
func waitClosed(ctx context.Context, t *testing.T, db *txn.DB, want int) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var closed int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM periods WHERE program_id = 'shop' AND status = 'closed'`).Scan(&closed); err != nil {
			t.Fatal(err)
		}
		if closed >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d periods closed after 2 minutes", closed, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkClosedOnce: firstPeriod has one statement per partner, no
// statement is duplicated, and ann was released once.
func checkClosedOnce(ctx context.Context, t *testing.T, db *txn.DB, firstPeriod string) {
	var statements, releases, dupStatements int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM statements WHERE program_id = 'shop' AND period = $1`, firstPeriod).Scan(&statements); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE program_id = 'shop' AND kind = 'release'`).Scan(&releases); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT partner_id, period FROM statements WHERE program_id = 'shop'
		GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dupStatements); err != nil {
		t.Fatal(err)
	}
	// ann earned 60.00 and bob 40.00 in the first month: ann is released,
	// bob is carried (and, with nothing more, stays below the minimum).
	if statements != 2 || releases != 1 || dupStatements != 0 {
		t.Fatalf("%s statements %d (want 2), releases %d (want 1), duplicated statements %d", firstPeriod, statements, releases, dupStatements)
	}
	var payable string
	if err := db.Pool.QueryRow(ctx, `SELECT (-SUM(b.balance))::text FROM balances b JOIN accounts a ON a.id = b.account_id
		WHERE a.program_id = 'shop' AND a.code = 'partner:ann:payable'`).Scan(&payable); err != nil {
		t.Fatal(err)
	}
	if !decimal.RequireFromString(payable).Equal(decimal.RequireFromString("60.00")) {
		t.Fatalf("ann payable %s, want 60.00 released once", payable)
	}
}

// waitServing polls the gRPC health check of the accrued process number i
// on addr (as Connect JSON) until it answers SERVING.
func waitServing(t *testing.T, i int, addr string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		resp, err := http.Post("http://"+addr+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader("{}"))
		if err == nil {
			var body struct {
				Status string `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && servingStatus(body.Status) {
				return
			}
			last = fmt.Sprintf("HTTP %d, status %q, decode error %v", resp.StatusCode, body.Status, err)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("accrued %d on %s not serving after a minute: %s", i, addr, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servingStatus reports whether a health check's JSON status is SERVING,
// by its proto name or the prefixed one connect's grpchealth encodes.
func servingStatus(s string) bool { return s == "SERVING" || s == "SERVING_STATUS_SERVING" }

// stopAll interrupts every process and waits up to 10 s for each; one
// still running then is killed. A process that stopped in time must have
// exited cleanly.
func stopAll(t *testing.T, procs []*exec.Cmd) {
	t.Helper()
	for _, p := range procs {
		_ = p.Process.Signal(os.Interrupt)
	}
	for i, p := range procs {
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case err := <-done:
			if !cleanExit(err) {
				t.Errorf("accrued %d did not exit cleanly on SIGINT: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
			t.Errorf("accrued %d still running 10 s after SIGINT; killed", i)
		}
	}
}

// cleanExit reports whether a Wait error is a clean exit: status 0, or
// ended by the interrupt itself.
func cleanExit(err error) bool {
	if err == nil {
		return true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

// seed writes the program and the first month's history through the
// services: ann earns 60.00, bob 40.00.
func seed(t *testing.T, srv *server.Server, start time.Time) {
	t.Helper()
	ctx := context.Background()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	programs := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL)
	partners := accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL)
	orders := accruev1connect.NewOrderServiceClient(hs.Client(), hs.URL)
	at := func(d int) *timestamppb.Timestamp { return timestamppb.New(start.AddDate(0, 0, d)) }
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "shop", IdempotencyKey: "rules", At: at(0), Document: twoProcessRules})))
	for _, id := range []string{"ann", "bob"} {
		must(partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: "shop", IdempotencyKey: "reg-" + id,
			At: at(1), Partner: id, Code: id})))
	}
	for i, o := range []struct{ partner, amount string }{{"ann", "600.00"}, {"bob", "400.00"}} {
		must(orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "shop", IdempotencyKey: fmt.Sprint("o", i),
			At: at(5 + i), Order: fmt.Sprint("o", i), Customer: "c", PartnerCode: o.partner,
			Lines: []*accruev1.OrderLine{{Product: "bag", Amount: o.amount}}})))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
