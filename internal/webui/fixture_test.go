package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// bulkPartners is how many partners the close walks besides the demo's:
// enough batches (the service's 1,000 partners a transaction) that the
// close outlasts several of the page's 150 ms polls and its progress bar
// shows values between 0 and 100. At 3,000 (three batches) a close that
// had got faster sometimes ended between two polls.
const bulkPartners = 12000

// registerMany registers n partners of the demo program as RegisterPartner
// would (a row each and their accounts), in two set-based statements.
func registerMany(t *testing.T, db *txn.DB, n int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO partners (program_id, id, code, status, registered_at)
		SELECT $1, 'zz-' || lpad(i::text, 5, '0'), 'ZZ' || i, 'active', $2 FROM generate_series(1, $3::int) AS i`, demo.Program, at, n); err != nil {
		t.Fatal(err)
	}
	codes := make([]string, 0, n*len(affiliate.PartnerAccountKinds))
	for i := 1; i <= n; i++ {
		for _, k := range affiliate.PartnerAccountKinds {
			codes = append(codes, affiliate.PartnerAccount(fmt.Sprintf("zz-%05d", i), k))
		}
	}
	if err := ledger.OpenAccounts(ctx, db.Pool, demo.Program, codes, ledger.Credit, 1, at); err != nil {
		t.Fatal(err)
	}
}

// shop is the shop's webhook endpoint: it keeps every event it receives.
type shop struct {
	mu     sync.Mutex
	events []map[string]any
	got    chan struct{}
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e map[string]any
	if json.Unmarshal(body, &e) == nil {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
		select {
		case s.got <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// subscribe starts the shop's receiver and registers it for lead.submitted
// through the API.
func subscribe(t *testing.T, base string) *shop {
	t.Helper()
	s := &shop{got: make(chan struct{}, 1)}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	events := accruev1connect.NewEventServiceClient(http.DefaultClient, base)
	if _, err := events.CreateWebhook(context.Background(), connect.NewRequest(&accruev1.CreateWebhookRequest{
		Program: demo.Program, IdempotencyKey: "e2e:webhook", Url: hs.URL + "/accrue", EventTypes: []string{"lead.submitted"},
		Description: "the shop's CRM"})); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitForLead waits (a minute at most) for a lead.submitted event naming
// customer, carrying alice's code.
func (s *shop) waitForLead(t *testing.T, customer string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		s.mu.Lock()
		for _, e := range s.events {
			r, _ := e["resource"].(map[string]any)
			if e["type"] == "lead.submitted" && r["customerName"] == customer && r["partnerCode"] == "ALICE" {
				s.mu.Unlock()
				t.Logf("webhook: lead.submitted for %s by %s", customer, r["partner"])
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("no lead.submitted for %q reached the webhook; received %v", customer, s.events)
		}
	}
}
