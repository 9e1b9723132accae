package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/closefixture"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestCloseResumesAfterKill closes the month of an 8,000-partner program
// (closefixture) through a real accrued, kills it with SIGKILL once some
// batches have committed and others not, and closes again with the same
// key through a second accrued: it waits out the dead process's lease,
// resumes, and the period ends exactly as the reference (an uninterrupted
// close, TestCloseAtScale): every statement and balance, one release per
// released partner, and a journal that verifies.
func TestCloseResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; a close of 8,000 partners")
	}
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	now := time.Now().UTC()
	f := closefixture.Fixture{Program: "big", N: 8000, Start: time.Date(now.Year(), now.Month()-2, 1, 0, 0, 0, 0, time.UTC)}
	putFixtureRules(t, server.New(db, clock.NewSim(now), nil), f)
	if err := f.Write(ctx, db.Pool, now); err != nil {
		t.Fatal(err)
	}
	bin, key := buildAccrued(t), filepath.Join(t.TempDir(), "signing-key.pem")

	addr := freeAddr(t)
	first, _ := accruedCommand(t, bin, "--listen", addr, "--database-url", url, "--signing-key", key)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitServing(t, 0, addr)
	go func() { _, _ = closeBig(context.Background(), "http://"+addr, f) }() // cut by the kill
	done := waitPartway(ctx, t, db, f)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("killed with %d of %d partners done", done, f.N)

	base, _, _ := serveAccrued(t, bin, "--database-url", url, "--signing-key", key)
	resp, err := closeBig(ctx, base, f)
	if err != nil {
		t.Fatalf("the resumed close: %v", err)
	}
	if want := f.Released().StringFixed(2); resp.Statements != int32(f.N) || resp.Released != want {
		t.Fatalf("resumed close: %v, want %d statements releasing %s", resp, f.N, want)
	}
	problems, err := f.Check(ctx, db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if report, err := ledger.Verify(ctx, db.Pool, f.Program); err != nil || !report.OK() {
		t.Fatalf("verify: %v %v", report.Problems, err)
	}
}

// putFixtureRules creates f's program through srv with closefixture's
// rules, dated an hour into its first month; the statements schedule
// ticks once a year on that month's first, so accrued's scheduler closes
// nothing while the test runs.
func putFixtureRules(t *testing.T, srv *server.Server, f closefixture.Fixture) {
	t.Helper()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	programs := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL)
	_, err := programs.PutRules(context.Background(), connect.NewRequest(&accruev1.PutRulesRequest{
		Program: f.Program, IdempotencyKey: "rules", At: timestamppb.New(f.Start.Add(time.Hour)),
		Document: fmt.Sprintf(closefixture.Rules, fmt.Sprintf("0 0 1 %d *", int(f.Start.Month()))),
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// closeBig closes f's period through the accrued at base, always under
// the same idempotency key.
func closeBig(ctx context.Context, base string, f closefixture.Fixture) (*accruev1.ClosePeriodResponse, error) {
	periods := accruev1connect.NewPeriodServiceClient(http.DefaultClient, base)
	resp, err := periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
		Program: f.Program, IdempotencyKey: "close-big", Period: f.Period(),
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// waitPartway waits until the close of f's period has committed some
// partners' batches and not all, and returns how many are done; it fails
// the test when the close finished first or nothing moved in 2 minutes.
func waitPartway(ctx context.Context, t *testing.T, db *txn.DB, f closefixture.Fixture) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var done, stated int
		err := db.Pool.QueryRow(ctx, `SELECT COALESCE((SELECT partners_done FROM period_progress WHERE program_id = $1 AND period = $2), 0),
			(SELECT count(*) FROM statements WHERE program_id = $1 AND period = $2)`, f.Program, f.Period()).Scan(&done, &stated)
		if err != nil {
			t.Fatal(err)
		}
		if stated >= f.N {
			t.Fatalf("the close finished before the kill")
		}
		if done > 0 {
			return done
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no batch of the close committed in 2 minutes")
	return 0
}
