package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/webhook"
)

// reachEventsAndPortal runs the events, webhook, import, portal and
// product commands against s with the webhook worker running and a local
// receiver subscribed, checking what each prints.
func reachEventsAndPortal(t *testing.T, s *demoServer, dir string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go s.srv.WebhookWorker(webhook.Options{AllowPrivate: true}).Run(ctx)
	var received atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { received.Add(1) }))
	t.Cleanup(rc.Close)
	hook := reachWebhooks(t, s, rc.URL)
	if received.Load() == 0 {
		t.Errorf("the receiver got no delivery")
	}
	reachImport(t, s, dir)
	reachPortal(t, s, dir)
	s.ok("webhook", "delete", hook)
}

// reachWebhooks subscribes url, submits a lead, watches and lists the
// feed, waits for the lead's delivery, redelivers it and returns the
// webhook's id.
func reachWebhooks(t *testing.T, s *demoServer, url string) string {
	var created struct {
		Webhook struct{ Id string }
		Secret  string
	}
	out := s.ok("--json", "webhook", "create", url, "--description", "shop")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Webhook.Id == "" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("webhook create --json: %v\n%s", err, out)
	}
	id := created.Webhook.Id
	if table := s.ok("webhook", "create", url, "--type", "order.paid"); !strings.Contains(table, "secret whsec_") {
		t.Errorf("webhook create does not print the secret:\n%s", table)
	}
	s.ok("webhook", "list")
	s.ok("webhook", "update", id, "--type", "lead.submitted", "--type", "order.paid", "--description", "leads")
	s.ok("webhook", "disable", id)
	s.ok("webhook", "enable", id)
	s.ok("lead", "submit", "bob", "--lead", "l-1", "--customer", "Мария", "--contact", "+7 900", "--note", "a bag")
	s.ok("lead", "submit", "bob", "--lead", "l-2", "--customer", "Ann", "--contact", "ann@example.com")
	lines := strings.Split(strings.TrimSpace(s.ok("--json", "events", "watch", "--type", "lead.submitted", "--count", "2")), "\n")
	var first struct{ Id, Type string }
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Type != "lead.submitted" || !json.Valid([]byte(lines[1])) {
		t.Fatalf("events watch --json --count 2: want two JSON lines of lead.submitted, got %q", lines)
	}
	if got := s.ok("events", "watch", "--type", "lead.submitted", "--count", "1"); !strings.Contains(got, first.Id+" lead.submitted") {
		t.Errorf("events watch: %q, want a line with %s lead.submitted", got, first.Id)
	}
	if got := s.ok("events", "list", "--all", "--type", "lead.submitted", "--after", "0"); strings.Count(got, "lead.submitted") != 2 {
		t.Errorf("events list --type lead.submitted:\n%s", got)
	}
	waitDelivered(t, s, id)
	s.ok("webhook", "redeliver", id, first.Id)
	return id
}

// waitDelivered reads webhook's delivery log until a delivery succeeded
// (the worker runs every 250 ms), for at most 20 s.
func waitDelivered(t *testing.T, s *demoServer, webhook string) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(s.ok("webhook", "deliveries", webhook), "succeeded") {
			return
		}
	}
	t.Fatalf("no delivery to %s succeeded:\n%s", webhook, s.ok("webhook", "deliveries", webhook))
}

// reachImport imports a registration and an order in one call, twice:
// the second send replays both.
func reachImport(t *testing.T, s *demoServer, dir string) {
	file := writeFile(t, dir, "import.jsonl", `{"registerPartner": {"partner": "p-imp", "code": "PIMP", "at": "2026-11-22T10:00:00Z"}}`+"\n\n"+
		`{"payOrder": {"order": "o-imp", "customer": "c-imp", "partnerCode": "PIMP", "at": "2026-11-22T11:00:00Z", "lines": [{"product": "bag", "amount": "40.00"}]}}`+"\n")
	s.ok("import", "begin")
	if got := s.ok("import", "send", file); !strings.Contains(got, "applied 2, replayed 0") || !strings.Contains(got, "lines 1-3") {
		t.Errorf("import send:\n%s", got)
	}
	if got := s.ok("import", "send", file); !strings.Contains(got, "applied 0, replayed 2") {
		t.Errorf("import send again:\n%s", got)
	}
	s.ok("import", "finish")
}

// reachPortal saves a statement PDF, issues a sign-in link and drives
// leads, settings, products and materials.
func reachPortal(t *testing.T, s *demoServer, dir string) {
	pdf := filepath.Join(dir, "bob.pdf")
	s.ok("statement", "bob", "2026-10", "--pdf", pdf)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("statement --pdf wrote %d bytes (%v), not a PDF", len(b), err)
	}
	if got := s.ok("signin-link", "bob"); !strings.Contains(got, s.url+"/portal/signin?token=") {
		t.Errorf("signin-link: %q, want a URL on %s", got, s.url)
	}
	s.ok("lead", "list", "--partner", "bob")
	s.ok("settings", "update", "bob", "--email", "bob@example.com", "--name", "Bob")
	if got := s.ok("settings", "changes", "bob", "--private"); !strings.Contains(got, "bob@example.com") {
		t.Errorf("settings changes --private:\n%s", got)
	}
	s.ok("product", "put", "bag", "--name", "Bag", "--participates", "--shown")
	s.ok("product", "list")
	s.ok("material", "put", "bag", "m-1", "--kind", "link", "--title", "Bags", "--url", "https://shop.example/?ref={code}")
	s.ok("material", "list", "bag")
	if got := s.ok("material", "partner", "bob"); !strings.Contains(got, "ref=BOB") {
		t.Errorf("material partner bob: want the link with bob's code:\n%s", got)
	}
	s.ok("material", "delete", "bag", "m-1")
}
