package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/telemetry"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	adminToken   = "admin-token-0123456789"
	auditorToken = "auditor-token-0123456789"
	unknownToken = "unknown-token-0123456789"
)

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRequestLog: every RPC, refused or not, gets one line with its
// procedure, code, duration, program and the caller's role, and no line
// holds a token.
func TestRequestLog(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	keyPath := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyPath, []byte(adminToken+" admin *\n"+auditorToken+" auditor shop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.OpenKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	srv := server.New(db, clock.NewSim(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)), nil)
	srv.UseOuterInterceptors(telemetry.RequestLog(slog.New(slog.NewJSONHandler(&out, nil))))
	hs := httptest.NewServer(srv.Handler(keys.Interceptor()))
	t.Cleanup(hs.Close)

	call := func(token string, req *accruev1.PutRulesRequest) {
		c := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL)
		r := connect.NewRequest(req)
		r.Header().Set("Authorization", "Bearer "+token)
		_, _ = c.PutRules(ctx, r)
	}
	rules := &accruev1.PutRulesRequest{Program: "shop", IdempotencyKey: "r", Document: "currency: USD\ncommission: {default: 10%}\n"}
	call(adminToken, rules)
	call(auditorToken, rules)
	call(unknownToken, rules)

	want := []map[string]string{
		{"code": "ok", "role": "admin"},
		{"code": "permission_denied", "role": "auditor"},
		{"code": "unauthenticated", "role": ""},
	}
	text := out.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), text)
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if rec["msg"] != "rpc" || rec["procedure"] != accruev1connect.ProgramServicePutRulesProcedure || rec["program"] != "shop" ||
			rec["code"] != want[i]["code"] || rec["role"] != want[i]["role"] {
			t.Errorf("line %d = %s, want code %s and role %q", i, line, want[i]["code"], want[i]["role"])
		}
		if _, ok := rec["duration_ms"].(float64); !ok {
			t.Errorf("line %d has no duration_ms: %s", i, line)
		}
	}
	for _, secret := range []string{adminToken, auditorToken, unknownToken, "Bearer"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds %q:\n%s", secret, text)
		}
	}
}
