package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/accrue/accrue/internal/demo"
)

// reachSteps are command lines that, run in order on the demo program,
// call every accrue RPC and succeed.
var reachSteps = [][]string{
	{"rules", "validate", "RULES"}, {"rules", "get"}, {"rules", "versions"},
	{"rules", "put", "RULES", "--at", "2026-11-20T00:00:00Z"},
	{"partner", "register", "p-x", "--parent", "bob", "--code", "PX"},
	{"partner", "update", "p-x", "--email", "px@example.com"},
	{"partner", "suspend", "p-x"}, {"partner", "activate", "p-x"},
	{"partner", "get", "p-x", "--private"}, {"partner", "list"}, {"partner", "referrals", "bob"},
	{"partner", "link", "bob", "--landing", "https://shop.example/", "--utm-source", "mail"},
	{"click", "PX", "v-1", "--utm-source", "mail"}, {"clicks", "CLICKS"}, {"stats", "--partner", "p-x"},
	{"order", "simulate", "--line", "bag=10.00", "--partner", "p-x"},
	{"order", "pay", "o-x", "--customer", "c-x", "--visitor", "v-1", "--line", "bag=100.00"},
	{"order", "complete", "o-x"}, {"order", "refund", "o-x", "--line", "bag=10.00"},
	{"order", "amend", "o-x", "--line", "bag=50.00"}, {"order", "get", "o-x"}, {"order", "cancel", "o-x"},
	{"period", "get", "2026-10"}, {"period", "list", "--from", "2026-10", "--to", "2026-11"}, {"close", "2026-10"},
	{"statement", "get", "bob", "2026-10"}, {"statement", "list", "--all"}, {"statement", "export", "--period", "2026-10"},
	{"payout", "create", "px", "--partner", "bob", "--amount", "10.00"}, {"payout", "settle", "px"},
	{"payout", "create", "py", "--partner", "bob", "--amount", "10.00"}, {"payout", "fail", "py", "--reason", "bounced"},
	{"spend", "s-1", "--partner", "bob", "--amount", "5.00"}, {"spend", "reverse", "s-1"},
	{"payout", "pay-all", "b1"}, {"payout", "list", "bob"}, {"payout", "get", "px", "--partner", "bob"},
	{"ledger", "open-account", "bank:main", "--side", "debit"},
	{"ledger", "balances", "partner:bob:payable"}, {"ledger", "entries", "partner:bob:payable", "--all"},
	{"ledger", "transactions", "--all", "--reference", "payout=px"}, {"ledger", "trial-balance"},
	{"ledger", "verify"},
}

// TestEveryRPCReachable runs reachSteps, then a raw posting, its lookup and
// its reversal, then the events, webhooks, import, portal and product
// commands, and checks that every RPC of every accrue.v1 service in the
// descriptors was called.
func TestEveryRPCReachable(t *testing.T) {
	s := newDemoServer(t)
	dir := t.TempDir()
	files := map[string]string{
		"RULES":  writeFile(t, dir, "rules.yaml", demo.Rules),
		"CLICKS": writeFile(t, dir, "clicks.jsonl", "{\"partner\": \"PX\", \"visitor\": \"v-2\"}\n\n{\"partner\": \"bob\", \"visitor\": \"v-3\", \"utmSource\": \"ads\"}\n"),
	}
	for _, step := range reachSteps {
		args := make([]string, len(step))
		for i, a := range step {
			args[i] = a
			if f, ok := files[a]; ok {
				args[i] = f
			}
		}
		s.ok(args...)
	}
	var posted struct{ Transaction struct{ Id string } }
	out := s.ok("--json", "ledger", "post", "--key", "adj-9", "--kind", "manual_adjustment",
		"platform:commission_expense:debit:5.00", "partner:bob:accrued:credit:5.00")
	if err := json.Unmarshal([]byte(out), &posted); err != nil {
		t.Fatalf("post --json: %v\n%s", err, out)
	}
	if _, err := strconv.ParseInt(posted.Transaction.Id, 10, 64); err != nil {
		t.Fatalf("post --json: transaction id %q", posted.Transaction.Id)
	}
	s.ok("ledger", "transaction", posted.Transaction.Id)
	s.ok("ledger", "reverse", posted.Transaction.Id, "--reason", "typo")
	// Nothing is sealed within the seal lag of the simulated clock: the
	// head's absence is the answer (journal_test reads real heads).
	if _, _, err := s.run("ledger", "head"); err == nil || !strings.Contains(err.Error(), "nothing is sealed yet") {
		t.Errorf("ledger head: %v", err)
	}
	reachEventsAndPortal(t, s, dir)
	procedures := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("accrue.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				procedure := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				procedures++
				if !s.called(procedure) {
					t.Errorf("no command called %s", procedure)
				}
			}
		}
		return true
	})
	if procedures < 60 {
		t.Errorf("only %d procedures in the descriptors; the check checks little", procedures)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJSONEverywhere: every read command prints one JSON document with
// --json at the end of its line.
func TestJSONEverywhere(t *testing.T) {
	s := newDemoServer(t)
	rulesFile := writeFile(t, t.TempDir(), "rules.yaml", demo.Rules)
	for _, args := range [][]string{
		{"rules", "validate", rulesFile}, {"rules", "get"}, {"rules", "versions"},
		{"partner", "get", "bob"}, {"partner", "list"}, {"partner", "referrals", "bob"},
		{"partner", "link", "bob", "--landing", "https://shop.example/"}, {"stats"},
		{"order", "simulate", "--line", "bag=10.00"}, {"period", "get", "2026-10"}, {"period", "list", "--from", "2026-09", "--to", "2026-11"},
		{"statement", "bob", "2026-10"}, {"statement", "list"}, {"statement", "export"}, {"payout", "list"},
		{"balance"}, {"ledger", "entries", "partner:bob:payable"}, {"ledger", "transactions"}, {"trial-balance"}, {"verify"},
	} {
		out := s.ok(append(args, "--json")...)
		if !json.Valid([]byte(out)) {
			t.Errorf("accrue %s --json: not one JSON document:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestRulesValidateNamesTheFields: an invalid document is refused by the
// server's check with the path and line of each fault, in one request that
// saves nothing.
func TestRulesValidateNamesTheFields(t *testing.T) {
	s := newDemoServer(t)
	bad := strings.Replace(strings.Replace(demo.Rules, "due_day: 15", "due_day: 40", 1), "default: 10%", "default: 10 percent", 1)
	_, _, err := s.run("rules", "validate", writeFile(t, t.TempDir(), "bad.yaml", bad))
	if err == nil || !strings.Contains(err.Error(), "statements.due_day") || !strings.Contains(err.Error(), "commission.default") ||
		!strings.Contains(err.Error(), "line ") {
		t.Errorf("rules validate of a bad document: %v", err)
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("rules validate sent %d requests, want 1", n)
	}
}
