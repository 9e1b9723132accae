package server

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// Bad endpoints are refused naming the field; a disabled endpoint gets
// nothing until enabled, then resumes; a redelivery sends the same event
// (same webhook-id) once more; a deleted endpoint is gone with its log.
func TestWebhookLifecycle(t *testing.T) {
	h := newHarness(t, "0d")
	events := &eventService{h.srv}
	for field, m := range map[string]*accruev1.CreateWebhookRequest{
		"url":            {Url: "ftp://example.com/x"},
		"event_types[1]": {Url: "https://example.com/x", EventTypes: []string{"order.paid", "order.shipped"}},
		"description":    {Url: "https://example.com/x", Description: strings.Repeat("d", 501)},
	} {
		m.Program, m.IdempotencyKey = testProgram, h.key()
		_, err := events.CreateWebhook(h.ctx, connect.NewRequest(m))
		var f *fault.Error
		if !errors.As(err, &f) || f.Code != fault.CodeInvalidArgument || f.Field != field {
			t.Errorf("create %v: %v, want invalid_argument on %s", m, err, field)
		}
	}
	rc := &receiver{t: t}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	var id string
	rc.secret, id = h.subscribe(ts.URL, "partner.registered")
	w := h.srv.WebhookWorker(webhook.Options{AllowPrivate: true})
	step := func() {
		if _, err := w.Step(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	disabled := func(on bool) {
		_, err := events.UpdateWebhook(h.ctx, connect.NewRequest(&accruev1.UpdateWebhookRequest{
			Program: testProgram, IdempotencyKey: h.key(), Webhook: id, Disabled: &on}))
		h.must(err)
	}
	disabled(true)
	h.register("ann", "", day(1, 2))
	step()
	if got := rc.delivered(); len(got) != 0 {
		t.Fatalf("a disabled endpoint got %v", got)
	}
	disabled(false)
	step()
	got := rc.delivered()
	if len(got) != 1 {
		t.Fatalf("after enabling: %v, want ann's registration", got)
	}
	_, err := events.RedeliverEvent(h.ctx, connect.NewRequest(&accruev1.RedeliverEventRequest{
		Program: testProgram, IdempotencyKey: h.key(), Webhook: id, EventId: got[0].id}))
	h.must(err)
	step()
	if again := rc.delivered(); len(again) != 2 || again[1] != got[0] {
		t.Fatalf("after redelivery: %v, want the same event twice", again)
	}
	list, err := events.ListWebhooks(h.ctx, connect.NewRequest(&accruev1.ListWebhooksRequest{Program: testProgram}))
	h.must(err)
	if ws := list.Msg.GetWebhooks(); len(ws) != 1 || ws[0].GetId() != id || ws[0].GetDisabled() {
		t.Fatalf("webhooks %v, want %s enabled", ws, id)
	}
	_, err = events.DeleteWebhook(h.ctx, connect.NewRequest(&accruev1.DeleteWebhookRequest{
		Program: testProgram, IdempotencyKey: h.key(), Webhook: id}))
	h.must(err)
	_, err = events.ListDeliveries(h.ctx, connect.NewRequest(&accruev1.ListDeliveriesRequest{Program: testProgram, Webhook: id}))
	if fault.CodeOf(err) != fault.CodeNotFound {
		t.Fatalf("deliveries of a deleted webhook: %v, want not_found", err)
	}
}
