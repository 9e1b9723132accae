package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// bearer sends a token with every call.
func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	}))
}

// guardedServer serves program "p" with partners alice and bob behind
// three API keys: an admin's, an auditor's and bob's.
func guardedServer(t *testing.T) (*httptest.Server, *txn.DB) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	keys, err := auth.ParseKeys(strings.NewReader(`
admin-token-0123456789   admin   *
audit-token-0123456789   auditor p
bob-token-0123456789ab   partner p bob
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db, clock.NewSim(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), nil)
	hs := httptest.NewServer(srv.Handler(auth.Interceptor(keys)))
	t.Cleanup(hs.Close)
	admin := bearer("admin-token-0123456789")
	programs := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL, admin)
	if _, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules", Document: apiRules})); err != nil {
		t.Fatal(err)
	}
	partners := accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL, admin)
	for _, id := range []string{"alice", "bob"} {
		if _, err := partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: "reg-" + id, Partner: id,
			Private: &accruev1.PartnerPrivate{BankAccount: "IBAN-" + id}})); err != nil {
			t.Fatal(err)
		}
	}
	return hs, db
}

// TestAPIKeysGuardTheServer runs a server with API keys: no token is
// unauthenticated; an admin registers partners; bob's key reads bob's
// private details but not alice's; an auditor reads the journal but cannot
// post; health stays open.
func TestAPIKeysGuardTheServer(t *testing.T) {
	ctx := context.Background()
	hs, db := guardedServer(t)
	partners := func(token string) accruev1connect.PartnerServiceClient {
		return accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL, bearer(token))
	}
	get := func(token, partner string) (*accruev1.Partner, error) {
		resp, err := partners(token).GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: "p", Partner: partner, IncludePrivate: true}))
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetPartner(), nil
	}
	if _, err := get("", "bob"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("no token: %v, want unauthenticated", err)
	}
	if _, err := get("not-a-token-0123456789", "bob"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("unknown token: %v, want unauthenticated", err)
	}
	bob, err := get("bob-token-0123456789ab", "bob")
	if err != nil || bob.GetPrivate().GetBankAccount() != "IBAN-bob" {
		t.Fatalf("bob reading himself: %v %v", bob, err)
	}
	if _, err := get("bob-token-0123456789ab", "alice"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("bob reading alice: %v, want permission_denied", err)
	}
	if _, err := get("audit-token-0123456789", "alice"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("auditor reading private details: %v, want permission_denied", err)
	}
	ledger := accruev1connect.NewLedgerServiceClient(hs.Client(), hs.URL, bearer("audit-token-0123456789"))
	if _, err := ledger.GetTrialBalance(ctx, connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: "p"})); err != nil {
		t.Fatalf("auditor reading the trial balance: %v", err)
	}
	_, err = ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "k", Kind: "manual",
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "1.00"), entry("platform:payout_clearing", cr, "1.00")}}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("auditor posting: %v, want permission_denied", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM transactions`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d transactions after refused calls (%v), want 0", n, err)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hs.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health without a token: %v %v", resp, err)
	}
	resp.Body.Close()
}
