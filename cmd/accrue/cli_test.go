package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/accrue/accrue/internal/buildinfo"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// demoServer is a server holding the demo program that counts the
// requests it gets after the demo is loaded, and records their paths.
type demoServer struct {
	t        *testing.T
	url      string
	requests atomic.Int64
	mu       sync.Mutex
	paths    map[string]bool
	srv      *server.Server
}

func newDemoServer(t *testing.T) *demoServer {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	srv := server.New(db, clock.NewSim(now), nil)
	h := srv.Handler()
	s := &demoServer{t: t, paths: map[string]bool{}, srv: srv}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		s.paths[r.URL.Path] = true
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	if err := demo.Load(ctx, hs.URL, now); err != nil {
		t.Fatal(err)
	}
	s.requests.Store(0)
	s.mu.Lock()
	clear(s.paths)
	s.mu.Unlock()
	return s
}

// called says whether a request for procedure (/package.Service/Method)
// came after the demo was loaded.
func (s *demoServer) called(procedure string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paths[procedure]
}

// run runs one accrue command line against s and returns its stdout and
// stderr.
func (s *demoServer) run(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = execute(context.Background(), append([]string{"--server", s.url}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// ok runs a command line that must succeed and returns its stdout.
func (s *demoServer) ok(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("accrue %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// commandPaths lists every command of the tree, as the words that name it.
func commandPaths(cmd *cobra.Command, prefix []string) [][]string {
	var paths [][]string
	for _, sub := range cmd.Commands() {
		path := append(append([]string{}, prefix...), sub.Name())
		paths = append(paths, path)
		paths = append(paths, commandPaths(sub, path)...)
	}
	return paths
}

// TestHelpNeverWrites runs every command with -h and --help, before and
// after arguments that would otherwise be ids (partner register -h once
// registered a partner named -h), and through `accrue help`: each prints
// its usage and the server gets no request at all.
func TestHelpNeverWrites(t *testing.T) {
	s := newDemoServer(t)
	paths := commandPaths(newRoot(&cli{}), nil)
	if len(paths) < 90 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, path := range paths {
		for _, args := range [][]string{
			append(path, "-h"), append(path, "--help"), append(path, "x-1", "2026-10", "--help"),
			append(append([]string{"--json"}, path...), "-h", "x-1"), append([]string{"help"}, path...),
		} {
			out, errOut, err := s.run(args...)
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Errorf("accrue %s: err %v, no usage:\n%s%s", strings.Join(args, " "), err, out, errOut)
			}
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Fatalf("help sent %d requests to the server", n)
	}
	// The proof the counter counts: a read is one request.
	s.ok("partner", "get", "bob")
	if n := s.requests.Load(); n != 1 {
		t.Fatalf("partner get: %d requests counted, want 1", n)
	}
}

// TestFlagsAnywhere: flags before, between and after positional
// arguments, global ones (--json, --program) included.
func TestFlagsAnywhere(t *testing.T) {
	s := newDemoServer(t)
	s.ok("partner", "register", "--code", "DAVE", "dave", "--program", "demo", "--parent", "bob")
	for _, args := range [][]string{
		{"--json", "partner", "get", "dave"},
		{"partner", "--json", "get", "dave"},
		{"partner", "get", "--json", "dave"},
		{"partner", "get", "dave", "--json"},
		{"--program=demo", "partner", "get", "dave", "--json", "--addr", s.url},
	} {
		out := s.ok(args...)
		var got struct {
			Partner struct{ Id, Code, Parent string }
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Errorf("accrue %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		if got.Partner.Id != "dave" || got.Partner.Code != "DAVE" || got.Partner.Parent != "bob" {
			t.Errorf("accrue %s: %+v", strings.Join(args, " "), got.Partner)
		}
	}
	if out := s.ok("balance", "--json"); !json.Valid([]byte(out)) {
		t.Errorf("balance --json: not JSON:\n%s", out)
	}
}

// TestPagingFollowsTokens: a list longer than a page says how to read on,
// --page-token reads the next page, and --all reads them all.
func TestPagingFollowsTokens(t *testing.T) {
	s := newDemoServer(t)
	for _, p := range []string{"p1", "p2", "p3"} {
		s.ok("partner", "register", p)
	}
	ids := regexp.MustCompile(`(?m)^(alice|bob|p\d) `)
	out := s.ok("partner", "list", "--page-size", "2")
	token := regexp.MustCompile(`more: use --page-token (\S+)`).FindStringSubmatch(out)
	if len(ids.FindAllString(out, -1)) != 2 || token == nil {
		t.Fatalf("first page of 2: no 2 rows and a more hint:\n%s", out)
	}
	if out := s.ok("partner", "list", "--page-size", "2", "--page-token", token[1]); len(ids.FindAllString(out, -1)) != 2 || !strings.Contains(out, "p2") {
		t.Errorf("second page:\n%s", out)
	}
	out = s.ok("partner", "list", "--all", "--page-size", "2")
	if got := ids.FindAllString(out, -1); len(got) != 5 || strings.Contains(out, "more:") {
		t.Errorf("--all over 3 pages: rows %q:\n%s", got, out)
	}
	var all struct {
		Partners      []struct{ Id string }
		NextPageToken string
	}
	if err := json.Unmarshal([]byte(s.ok("partner", "list", "--all", "--page-size", "2", "--json")), &all); err != nil || len(all.Partners) != 5 || all.NextPageToken != "" {
		t.Errorf("--all --json: %v %+v", err, all)
	}
}

// TestCompletionAndVersion: completion scripts for bash, zsh and fish, and
// --version's line.
func TestCompletionAndVersion(t *testing.T) {
	s := newDemoServer(t)
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := s.ok("completion", shell); len(out) < 1000 || !strings.Contains(out, "accrue") {
			t.Errorf("completion %s: %d bytes:\n%.300s", shell, len(out), out)
		}
	}
	if out := s.ok("--version"); out != buildinfo.String("accrue")+"\n" {
		t.Errorf("--version: %q", out)
	}
}

// TestKeysAndReplays: a derived key is printed (on stderr with --json, so
// stdout stays JSON), --key sets it, and a replayed answer says so.
func TestKeysAndReplays(t *testing.T) {
	s := newDemoServer(t)
	out, errOut, err := s.run("--json", "payout", "create", "p-9", "--partner", "bob")
	if err != nil || !json.Valid([]byte(out)) || !strings.Contains(errOut, "idempotency key cli:payout:p-9:create") {
		t.Fatalf("payout create --json: %v\n%s--\n%s", err, out, errOut)
	}
	if out := s.ok("payout", "create", "p-9", "--partner", "bob"); !strings.Contains(out, "replayed: ") {
		t.Errorf("payout create again: not marked replayed:\n%s", out)
	}
	first := s.ok("click", "bob", "v-7", "--key", "my-click-1")
	if strings.Contains(first, "idempotency key") || strings.Contains(first, "replayed: ") {
		t.Errorf("click --key: printed a derived key or a replay:\n%s", first)
	}
	if again := s.ok("click", "--key", "my-click-1", "bob", "v-7"); !strings.Contains(again, "replayed=true") || !strings.Contains(again, "replayed: ") {
		t.Errorf("click with the same --key: not replayed:\n%s", again)
	}
	if other := s.ok("click", "bob", "v-7"); !strings.Contains(other, "replayed=false") || strings.Contains(other, "replayed: ") {
		t.Errorf("click without --key: replayed:\n%s", other)
	}
	if out := s.ok("period", "close", "2026-10"); !strings.Contains(out, "already closed=true") || !strings.Contains(out, "nothing changed") {
		t.Errorf("period close of the closed month:\n%s", out)
	}
}

// TestProgressLine: the close's progress as a bar on a terminal, else a
// plain line.
func TestProgressLine(t *testing.T) {
	p := &accruev1.PeriodState{Period: "2026-10", PartnersDone: 25, PartnersTotal: 100}
	if got, want := progressLine(p, true), "\rclosing 2026-10 [#######.......................] 25/100 partners  25%"; got != want {
		t.Errorf("bar: %q, want %q", got, want)
	}
	if got, want := progressLine(p, false), "closing 2026-10: 25/100 partners (25%)\n"; got != want {
		t.Errorf("line: %q, want %q", got, want)
	}
}

// TestUnknownSubcommand: a mistyped verb is an error naming it, and
// writes nothing.
func TestUnknownSubcommand(t *testing.T) {
	s := newDemoServer(t)
	for _, tc := range []struct {
		args    []string
		unknown string
	}{
		{[]string{"partner", "registr", "carol"}, "registr"},
		{[]string{"ordr", "pay", "o-1"}, "ordr"},
		{[]string{"payout", "creat", "p-1"}, "creat"},
	} {
		if _, _, err := s.run(tc.args...); err == nil || !strings.Contains(err.Error(), `unknown command "`+tc.unknown+`"`) {
			t.Errorf("accrue %s: %v, want unknown command %q", strings.Join(tc.args, " "), err, tc.unknown)
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Fatalf("mistyped commands sent %d requests", n)
	}
}

// TestUpdateRetriedWithItsKey: partner update retried with the key it
// printed is a replay, however many fields it names (the mask is sent in
// one order).
func TestUpdateRetriedWithItsKey(t *testing.T) {
	s := newDemoServer(t)
	args := []string{"partner", "update", "alice", "--email", "a@example.com", "--name", "Alice", "--bank-name", "B", "--bank-account", "DE00"}
	out := s.ok(args...)
	key := regexp.MustCompile(`idempotency key (\S+)`).FindStringSubmatch(out)
	if key == nil {
		t.Fatalf("partner update printed no key:\n%s", out)
	}
	for range 5 {
		if out := s.ok(append(args, "--key", key[1])...); !strings.Contains(out, "replayed: ") {
			t.Fatalf("partner update --key %s: not a replay:\n%s", key[1], out)
		}
	}
}
