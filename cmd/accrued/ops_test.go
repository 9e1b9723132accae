package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/pgtest"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

const (
	firstToken  = "first-token-0123456789"
	secondToken = "second-token-0123456789"
)

// TestOperations runs the real binary with a key file and JSON logs:
// /metrics counts the RPCs by procedure and code, SIGHUP puts a new key
// file in force (a new key works, a removed one is refused) and a bad one
// keeps the keys in force, and the log has a line per RPC and no token.
func TestOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	writeKeys(t, keys, firstToken+" admin *\n")
	addr := freeAddr(t)
	cmd, logFile := accruedCommand(t, buildAccrued(t), "--listen", addr, "--database-url", pgtest.DatabaseURL(t),
		"--signing-key", filepath.Join(dir, "signing-key.pem"), "--api-keys", keys, "--log-format", "json")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, []*exec.Cmd{cmd}) })
	waitServing(t, 0, addr)
	base := "http://" + addr

	wantCode(t, base, firstToken, connect.Code(0))
	wantCode(t, base, "", connect.CodeUnauthenticated)
	metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`accrue_rpc_requests_total{code="ok",procedure="/accrue.v1.ProgramService/PutRules"} 1`,
		`accrue_rpc_requests_total{code="unauthenticated",procedure="/accrue.v1.ProgramService/PutRules"} 1`,
		`accrue_rpc_duration_seconds_count{code="ok",procedure="/accrue.v1.ProgramService/PutRules"} 1`,
		`accrue_db_pool_total_connections`, `go_goroutines`, `process_start_time_seconds`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	writeKeys(t, keys, secondToken+" admin *\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logFile, "SIGHUP: API keys reloaded")
	wantCode(t, base, secondToken, connect.Code(0))
	wantCode(t, base, firstToken, connect.CodeUnauthenticated)

	writeKeys(t, keys, "not a key file\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logFile, "API keys not reloaded")
	wantCode(t, base, secondToken, connect.Code(0))

	log, _ := os.ReadFile(logFile)
	if n := strings.Count(string(log), `"msg":"rpc"`); n != 5 {
		t.Errorf("%d rpc log lines for 5 RPCs", n)
	}
	for _, token := range []string{firstToken, secondToken} {
		if strings.Contains(string(log), token) {
			t.Errorf("the log holds a token")
		}
	}
}

func writeKeys(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantCode calls PutRules with token (none when empty) and requires code
// (0: success).
func wantCode(t *testing.T, base, token string, code connect.Code) {
	t.Helper()
	c := accruev1connect.NewProgramServiceClient(http.DefaultClient, base)
	req := connect.NewRequest(&accruev1.PutRulesRequest{Program: "shop", IdempotencyKey: "r", Document: "currency: USD\ncommission: {default: 10%}\n"})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	_, err := c.PutRules(context.Background(), req)
	if got := connect.CodeOf(err); (err == nil) != (code == 0) || (err != nil && got != code) {
		t.Fatalf("PutRules with token %.6s…: %v, want code %v", token, err, code)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return string(b)
}

// waitLog waits (a minute at most) until accrued's log holds s.
func waitLog(t *testing.T, logFile, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(logFile)
		if strings.Contains(string(b), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after a minute:\n%s", s, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
