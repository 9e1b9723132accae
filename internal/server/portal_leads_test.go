package server

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestLeads: ivan's session submits a lead (with its CSRF token), not one
// for anna; an order paid with the lead is attributed to ivan, unless its
// partner code names another partner; an unknown lead is not found.
func TestLeads(t *testing.T) {
	f := newPortalFixture(t)
	ivan := f.signIn("ivan")
	lead := &accruev1.SubmitLeadRequest{Program: "shop", IdempotencyKey: "lead-1", Partner: "ivan", Lead: "l-1",
		CustomerName: "Мария Иванова", Contact: "+7 900 000-00-00", Note: "wants a belt"}
	if _, err := f.portal(ivan).SubmitLead(f.ctx, connect.NewRequest(lead)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a lead without the CSRF token: %v", err)
	}
	resp, err := f.portal(ivan, f.csrf(ivan)).SubmitLead(f.ctx, connect.NewRequest(lead))
	f.must(err)
	if got := resp.Msg.GetLead(); got.GetPartnerCode() != "IVAN" || got.GetCustomerName() != "Мария Иванова" {
		t.Fatalf("stored lead %v", got)
	}
	again, err := f.portal(ivan, f.csrf(ivan)).SubmitLead(f.ctx, connect.NewRequest(lead))
	if err != nil || !again.Msg.GetReplayed() {
		t.Fatalf("the same key again: %v %v", again, err)
	}
	checkLeadEvent(f)
	forAnna := &accruev1.SubmitLeadRequest{Program: "shop", IdempotencyKey: "lead-2", Partner: "anna", CustomerName: "x", Contact: "y"}
	if _, err := f.portal(ivan, f.csrf(ivan)).SubmitLead(f.ctx, connect.NewRequest(forAnna)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("ivan's session submitted anna's lead: %v", err)
	}
	dup := &accruev1.SubmitLeadRequest{Program: "shop", IdempotencyKey: "lead-3", Partner: "ivan", Lead: "l-1", CustomerName: "x", Contact: "y"}
	if _, err := f.portal(ivan, f.csrf(ivan)).SubmitLead(f.ctx, connect.NewRequest(dup)); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("a second lead l-1: %v", err)
	}
	orders := accruev1connect.NewOrderServiceClient(f.hs.Client(), f.hs.URL, bearer(adminKey))
	pay := func(order, code, lead string) (*accruev1.Order, error) {
		r, err := orders.PayOrder(f.ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "shop", IdempotencyKey: "pay-" + order,
			Order: order, Customer: "c-" + order, PartnerCode: code, Lead: lead, Lines: []*accruev1.OrderLine{{Product: "belt", Amount: "100.00"}}}))
		if err != nil {
			return nil, err
		}
		return r.Msg.GetOrder(), nil
	}
	if o, err := pay("o-lead", "SALE10", "l-1"); err != nil || o.GetPartner() != "ivan" || o.GetAttribution() != "lead" {
		t.Fatalf("an order with ivan's lead and a plain coupon: %v %v", o, err)
	}
	if o, err := pay("o-code", "ANNA", "l-1"); err != nil || o.GetPartner() != "anna" || o.GetAttribution() != "partner_code" {
		t.Fatalf("an order with anna's code and ivan's lead: %v %v", o, err)
	}
	if _, err := pay("o-none", "", "l-nope"); connect.CodeOf(err) != connect.CodeNotFound || !strings.Contains(err.Error(), "lead") {
		t.Fatalf("an unknown lead: %v", err)
	}
	list, err := f.portal(f.hs.Client(), bearer(adminKey)).ListLeads(f.ctx, connect.NewRequest(&accruev1.ListLeadsRequest{Program: "shop", Partner: "ivan"}))
	if err != nil || len(list.Msg.GetLeads()) != 1 || list.Msg.GetLeads()[0].GetLead() != "l-1" {
		t.Fatalf("ivan's leads: %v %v", list, err)
	}
	if _, err := f.portal(ivan).ListLeads(f.ctx, connect.NewRequest(&accruev1.ListLeadsRequest{Program: "shop"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("ivan's session listed every lead: %v", err)
	}
}

// checkLeadEvent: the lead submitted (once, though submitted twice with
// one key) is in the feed as lead.submitted with the lead, its partner's
// code and the customer's contact, for the shop's webhook.
func checkLeadEvent(f *portalFixture) {
	f.t.Helper()
	_, err := f.srv.svc.PublishEvents(f.ctx)
	f.must(err)
	events := accruev1connect.NewEventServiceClient(f.hs.Client(), f.hs.URL, bearer(adminKey))
	feed, err := events.ListEvents(f.ctx, connect.NewRequest(&accruev1.ListEventsRequest{Program: "shop", Types: []string{"lead.submitted"}}))
	f.must(err)
	if n := len(feed.Msg.GetEvents()); n != 1 {
		f.t.Fatalf("%d lead.submitted events, want 1", n)
	}
	r := feed.Msg.GetEvents()[0].GetResource().AsMap()
	if r["lead"] != "l-1" || r["partner"] != "ivan" || r["partnerCode"] != "IVAN" || r["contact"] != "+7 900 000-00-00" {
		f.t.Fatalf("lead.submitted resource %v", r)
	}
}

// TestSubmitLeadValidates names the offending field and writes nothing.
func TestSubmitLeadValidates(t *testing.T) {
	f := newPortalFixture(t)
	portal := f.portal(f.hs.Client(), bearer(adminKey))
	ok := func() *accruev1.SubmitLeadRequest {
		return &accruev1.SubmitLeadRequest{Program: "shop", IdempotencyKey: "k", Partner: "ivan", CustomerName: "n", Contact: "c"}
	}
	for field, edit := range map[string]func(*accruev1.SubmitLeadRequest){
		"customer_name":   func(m *accruev1.SubmitLeadRequest) { m.CustomerName = "" },
		"contact":         func(m *accruev1.SubmitLeadRequest) { m.Contact = strings.Repeat("x", LeadTextLenMax+1) },
		"note":            func(m *accruev1.SubmitLeadRequest) { m.Note = strings.Repeat("x", LeadNoteLenMax+1) },
		"lead":            func(m *accruev1.SubmitLeadRequest) { m.Lead = "a b" },
		"partner":         func(m *accruev1.SubmitLeadRequest) { m.Partner = "" },
		"idempotency_key": func(m *accruev1.SubmitLeadRequest) { m.IdempotencyKey = "" },
	} {
		m := ok()
		edit(m)
		if _, err := portal.SubmitLead(f.ctx, connect.NewRequest(m)); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	m := ok()
	m.Partner = "nobody"
	if _, err := portal.SubmitLead(f.ctx, connect.NewRequest(m)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("an unknown partner: %v", err)
	}
	list, err := portal.ListLeads(f.ctx, connect.NewRequest(&accruev1.ListLeadsRequest{Program: "shop"}))
	if err != nil || len(list.Msg.GetLeads()) != 0 {
		t.Fatalf("refused leads were stored: %v %v", list, err)
	}
}
