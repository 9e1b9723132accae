package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// receiver is a webhook endpoint: it answers script[i] to the i-th
// request ("500", "timeout", then 200 once the script is spent) and
// records each request it answered 200, after checking its signature with
// its own implementation of the Standard Webhooks scheme.
type receiver struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	script []string
	got    []delivered
	bad    []string
}

type delivered struct {
	id  string
	seq int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	step := "200"
	if len(rc.script) > 0 {
		step, rc.script = rc.script[0], rc.script[1:]
	}
	rc.mu.Unlock()
	switch step {
	case "500":
		http.Error(w, "down", http.StatusInternalServerError)
		return
	case "timeout":
		<-r.Context().Done() // the sender gives up first
		return
	}
	var ev struct {
		ID  string `json:"id"`
		Seq string `json:"seq"`
	}
	err := json.Unmarshal(body, &ev)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || !rc.verify(r.Header, body) || ev.ID != r.Header.Get("webhook-id") {
		rc.bad = append(rc.bad, r.Header.Get("webhook-id"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var seq int64
	_ = json.Unmarshal([]byte(ev.Seq), &seq)
	rc.got = append(rc.got, delivered{ev.ID, seq})
}

// verify checks the signature per the Standard Webhooks specification:
// the signed content is "{webhook-id}.{webhook-timestamp}.{body}", the key
// the base64-decoded part of the secret after "whsec_", the header a
// space-separated list of "v1,{base64 HMAC-SHA256}".
func (rc *receiver) verify(h http.Header, body []byte) bool {
	content := h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)
	mac := hmac.New(sha256.New, rc.secret)
	mac.Write([]byte(content))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && version == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func (rc *receiver) delivered() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// subscribe publishes what is pending (so the endpoint starts after it),
// creates an endpoint at url and returns its decoded secret and id.
func (h *harness) subscribe(url string, types ...string) ([]byte, string) {
	h.t.Helper()
	_, err := h.srv.svc.PublishEvents(h.ctx)
	h.must(err)
	resp, err := (&eventService{h.srv}).CreateWebhook(h.ctx, connect.NewRequest(&accruev1.CreateWebhookRequest{
		Program: testProgram, IdempotencyKey: h.key(), Url: url, EventTypes: types, Description: "test",
	}))
	h.must(err)
	b64, ok := strings.CutPrefix(resp.Msg.GetSecret(), "whsec_")
	secret, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(secret) < 16 {
		h.t.Fatalf("secret %q is not whsec_ and base64 of at least 16 bytes", resp.Msg.GetSecret())
	}
	return secret, resp.Msg.GetWebhook().GetId()
}

// feed lists every published event of the test program.
func (h *harness) feed() []*accruev1.Event {
	h.t.Helper()
	resp, err := (&eventService{h.srv}).ListEvents(h.ctx, connect.NewRequest(&accruev1.ListEventsRequest{Program: testProgram, PageSize: 1000}))
	h.must(err)
	return resp.Msg.GetEvents()
}

// A receiver fails twice, times out once, then recovers: every event is
// delivered successfully once, in feed order, each signature verifies
// with an independent implementation, and the first delivery's log shows
// its four attempts.
func TestWebhookDeliveredThroughFailures(t *testing.T) {
	h := newHarness(t, "0d")
	rc := &receiver{t: t, script: []string{"500", "500", "timeout"}}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	var id string
	rc.secret, id = h.subscribe(ts.URL)
	h.register("ann", "", day(1, 2))
	h.pay("o1", "ann", "100.00", day(1, 3))
	h.pay("o2", "ann", "50.00", day(1, 4))
	w := h.srv.WebhookWorker(webhook.Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})
	for range 12 {
		if _, err := w.Step(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.clk.Set(h.clk.Now().Add(2 * time.Hour)) // past any backoff
	}
	events := h.feed()[1:] // after rules.updated, published before the endpoint existed
	got := rc.delivered()
	if len(rc.bad) > 0 || len(got) != len(events) || len(events) != 5 {
		t.Fatalf("delivered %v (bad signatures %v), want the %d events of the feed (5)", got, rc.bad, len(events))
	}
	for i, e := range events {
		if got[i].id != e.GetId() || got[i].seq != e.GetSeq() {
			t.Fatalf("delivery %d = %+v, want %s seq %d (in feed order, once each)", i, got[i], e.GetId(), e.GetSeq())
		}
	}
	if events[1].GetType() != "order.paid" || events[2].GetType() != "order.accrued" ||
		events[1].GetResource().GetFields()["id"].GetStringValue() != "o1" {
		t.Fatalf("event 1 = %v, want order.paid of o1 with the order as resource", events[1])
	}
	log, err := (&eventService{h.srv}).ListDeliveries(h.ctx, connect.NewRequest(&accruev1.ListDeliveriesRequest{Program: testProgram, Webhook: id}))
	h.must(err)
	first := log.Msg.GetDeliveries()[0]
	codes := []int32{}
	for _, a := range first.GetAttempts() {
		codes = append(codes, a.GetStatusCode())
	}
	if first.GetStatus() != "succeeded" || len(codes) != 4 || codes[0] != 500 || codes[1] != 500 || codes[2] != 0 || codes[3] != 200 ||
		first.GetAttempts()[2].GetError() != "timed out" {
		t.Fatalf("first delivery %v, attempts %v: want succeeded after 500, 500, a timeout, 200", first.GetStatus(), first.GetAttempts())
	}
}

// An endpoint that never recovers has its delivery marked failed after
// about a day of retries; the next event then goes out.
func TestWebhookMarkedFailedAfterADay(t *testing.T) {
	h := newHarness(t, "0d")
	script := make([]string, 40)
	for i := range script {
		script[i] = "500"
	}
	rc := &receiver{t: t, script: script}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	var id string
	rc.secret, id = h.subscribe(ts.URL, "partner.registered")
	h.register("ann", "", day(1, 2))
	h.register("bob", "", day(1, 2))
	w := h.srv.WebhookWorker(webhook.Options{AllowPrivate: true})
	for range 30 {
		if _, err := w.Step(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.clk.Set(h.clk.Now().Add(2 * time.Hour))
	}
	log, err := (&eventService{h.srv}).ListDeliveries(h.ctx, connect.NewRequest(&accruev1.ListDeliveriesRequest{Program: testProgram, Webhook: id}))
	h.must(err)
	ds := log.Msg.GetDeliveries()
	if len(ds) != 2 || ds[0].GetStatus() != "failed" || ds[1].GetStatus() != "failed" || w.Failures() != 2 {
		t.Fatalf("deliveries %v, failures %d: want both failed", ds, w.Failures())
	}
	if n := len(ds[0].GetAttempts()); n < 10 || n > 14 {
		t.Fatalf("%d attempts in a day at 2 h steps, want about 12", n)
	}
}
