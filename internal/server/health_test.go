package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgembed"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ownCluster starts a PostgreSQL cluster of the test's own, which it may
// stop and restart, and returns it with its directory and port.
func ownCluster(t *testing.T) (*pgembed.Cluster, string, int) {
	t.Helper()
	root, err := os.MkdirTemp("", "accrue-edge-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// The postgres OS user runs the server when the tests run as root.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "data")
	ctx := context.Background()
	c, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		_ = os.RemoveAll(root)
	})
	u, err := url.Parse(c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("no port in %s: %v", u, err)
	}
	return c, dir, port
}

// eventually polls cond until it holds or 20 seconds passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: still not so after 20s", what)
}

func httpStatus(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDatabaseDownIsUnavailable: while the database is stopped, commands
// answer unavailable (never internal), gRPC health says NOT_SERVING and
// /readyz 503 while /livez stays 200; once it is back, all recover without
// restarting the server.
func TestDatabaseDownIsUnavailable(t *testing.T) {
	cluster, dir, port := ownCluster(t)
	ctx := context.Background()
	if err := cluster.CreateDatabase(ctx, "accrue"); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, cluster.URL("accrue"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Pool.Close()
	srv := New(db, clock.NewSim(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, programs, _, _, _ := clients(hs)
	health := grpchealth.NewClient(hs.Client(), hs.URL)
	status := func() grpchealth.Status {
		resp, err := health.Check(ctx, &grpchealth.CheckRequest{Service: "accrue.v1.LedgerService"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	put := func(key string) error {
		_, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: key, Document: apiRules}))
		return err
	}
	if err := put("k1"); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != grpchealth.StatusServing {
		t.Fatalf("health %v with the database up", s)
	}
	if c := httpStatus(t, hs.Client(), hs.URL+"/readyz"); c != http.StatusOK {
		t.Fatalf("/readyz %d with the database up", c)
	}

	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := put("k2"); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("a command with the database down: %v, want unavailable", err)
	}
	if _, err := programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: "p", Version: 1})); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("a query with the database down: %v, want unavailable", err)
	}
	eventually(t, "health NOT_SERVING", func() bool { return status() == grpchealth.StatusNotServing })
	if c := httpStatus(t, hs.Client(), hs.URL+"/readyz"); c != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d with the database down, want 503", c)
	}
	if c := httpStatus(t, hs.Client(), hs.URL+"/livez"); c != http.StatusOK {
		t.Errorf("/livez %d with the database down, want 200", c)
	}
	if _, err := health.Check(ctx, &grpchealth.CheckRequest{Service: "nope"}); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("health of an unknown service: %v, want not_found", err)
	}

	cluster, err = pgembed.Start(ctx, pgembed.Options{DataDir: dir, Port: port, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "health SERVING again", func() bool { return status() == grpchealth.StatusServing })
	eventually(t, "commands served again", func() bool { return put("k2") == nil })
	if c := httpStatus(t, hs.Client(), hs.URL+"/readyz"); c != http.StatusOK {
		t.Errorf("/readyz %d with the database back", c)
	}
}

// TestReadOnlyDatabaseIsUnavailable: a database that refuses writes
// (read-only, as a standby or a full disk answers) answers unavailable.
func TestReadOnlyDatabaseIsUnavailable(t *testing.T) {
	e := newEdge(t)
	ctx := context.Background()
	var name string
	if err := e.api.db.Pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET default_transaction_read_only = on", pgx.Identifier{name}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	e.api.db.Pool.Reset() // new connections read the setting
	_, err = e.api.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "r-ann", Partner: "ann", Code: "ANN"}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("a write to a read-only database: %v, want unavailable", err)
	}
}
