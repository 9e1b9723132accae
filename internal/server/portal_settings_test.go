package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestSettings: ivan's session changes his bank details (not anna's); the
// history lists each change, by whom, values only with include_private; an
// admin's UpdatePartner of private details is in it too; an auditor sees
// no values.
func TestSettings(t *testing.T) {
	f := newPortalFixture(t)
	ivan := f.signIn("ivan")
	update := func(key, partner string, p *accruev1.PartnerPrivate) (*accruev1.UpdateSettingsResponse, error) {
		r, err := f.portal(ivan, f.csrf(ivan)).UpdateSettings(f.ctx, connect.NewRequest(&accruev1.UpdateSettingsRequest{
			Program: "shop", IdempotencyKey: key, Partner: partner, Private: p}))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	}
	got, err := update("s1", "ivan", &accruev1.PartnerPrivate{Name: "Иван Петров", Email: "ivan@example.ru", BankAccount: "RU02 0000"})
	f.must(err)
	if !slices.Equal(got.GetChanged(), []string{"email", "bank_account"}) || got.GetPrivate().GetBankName() != "" {
		t.Fatalf("first change: %v", got)
	}
	if _, err := update("s2", "anna", &accruev1.PartnerPrivate{BankAccount: "mine now"}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("ivan changed anna's bank details: %v", err)
	}
	if _, err := update("s3", "ivan", &accruev1.PartnerPrivate{Name: strings.Repeat("x", PrivateLenMax+1)}); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "private.name") {
		t.Fatalf("an oversized name: %v", err)
	}
	same, err := update("s4", "ivan", &accruev1.PartnerPrivate{Name: "Иван Петров", Email: "ivan@example.ru", BankAccount: "RU02 0000"})
	if err != nil || len(same.GetChanged()) != 0 {
		t.Fatalf("no change: %v %v", same, err)
	}
	_, err = accruev1connect.NewPartnerServiceClient(f.hs.Client(), f.hs.URL, bearer(adminKey)).UpdatePartner(f.ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
		Program: "shop", IdempotencyKey: "admin-bank", Partner: "ivan", Private: &accruev1.PartnerPrivate{BankName: "Сбербанк"}}))
	f.must(err)
	history := func(c *connectClient, private bool) ([]*accruev1.SettingsChange, error) {
		r, err := f.portal(c.http, c.opts...).ListSettingsChanges(f.ctx, connect.NewRequest(&accruev1.ListSettingsChangesRequest{
			Program: "shop", Partner: "ivan", IncludePrivate: private}))
		if err != nil {
			return nil, err
		}
		return r.Msg.GetChanges(), nil
	}
	changes, err := history(&connectClient{http: ivan}, true)
	f.must(err)
	if len(changes) != 2 || changes[0].GetBy() != "admin" || changes[0].GetPrivate().GetBankName() != "Сбербанк" ||
		changes[1].GetBy() != "partner" || !slices.Equal(changes[1].GetChanged(), []string{"email", "bank_account"}) {
		t.Fatalf("history: %v", changes)
	}
	if _, err := history(&connectClient{http: f.hs.Client(), opts: []connect.ClientOption{bearer(auditorKey)}}, true); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("an auditor read the values: %v", err)
	}
	changes, err = history(&connectClient{http: f.hs.Client(), opts: []connect.ClientOption{bearer(auditorKey)}}, false)
	if err != nil || len(changes) != 2 || changes[0].GetPrivate() != nil {
		t.Fatalf("the auditor's history: %v %v", changes, err)
	}
}

// connectClient is an HTTP client with its Connect options.
type connectClient struct {
	http *http.Client
	opts []connect.ClientOption
}
