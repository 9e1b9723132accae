package server

import (
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// A submitted lead emits lead.submitted with the lead as its resource
// (the customer's contact included: the shop serves the lead), and an
// endpoint subscribed to it alone receives that event, signed, and none of
// the partner's registration; a refused lead emits nothing.
func TestLeadSubmittedReachesAWebhook(t *testing.T) {
	h := newHarness(t, "0d")
	rc := &receiver{t: t}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	rc.secret, _ = h.subscribe(ts.URL, "lead.submitted")
	h.register("ann", "", day(1, 2))
	submit := func(key string) error {
		_, err := (&portalService{h.srv}).SubmitLead(h.ctx, connect.NewRequest(&accruev1.SubmitLeadRequest{
			Program: testProgram, IdempotencyKey: key, At: timestamppb.New(day(1, 3)), Partner: "ann", Lead: "l-1",
			CustomerName: "Мария", Contact: "+7 900 000-00-00", Note: "a belt"}))
		return err
	}
	h.must(submit("lead-1"))
	if err := submit("lead-2"); err == nil { // already exists (the harness calls the handler, unmapped)
		t.Fatalf("a second lead l-1: %v", err)
	}
	w := h.srv.WebhookWorker(webhook.Options{AllowPrivate: true})
	for range 3 {
		_, err := w.Step(h.ctx)
		h.must(err)
	}
	var leads []*accruev1.Event
	for _, e := range h.feed() {
		if e.GetType() == "lead.submitted" {
			leads = append(leads, e)
		}
	}
	if len(leads) != 1 {
		t.Fatalf("lead.submitted events %v, want one", leads)
	}
	res := leads[0].GetResource().GetFields()
	if res["lead"].GetStringValue() != "l-1" || res["partnerCode"].GetStringValue() != "ANN" || res["contact"].GetStringValue() != "+7 900 000-00-00" {
		t.Fatalf("lead.submitted resource %v", res)
	}
	got := rc.delivered()
	if len(rc.bad) > 0 || len(got) != 1 || got[0].id != leads[0].GetId() || got[0].seq != leads[0].GetSeq() {
		t.Fatalf("delivered %v (bad signatures %v), want only %s", got, rc.bad, leads[0].GetId())
	}
}
