package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// api is a Server behind a real HTTP listener, driven through Connect
// clients as callers would.
type api struct {
	db       *txn.DB
	ledger   accruev1connect.LedgerServiceClient
	programs accruev1connect.ProgramServiceClient
	partners accruev1connect.PartnerServiceClient
	orders   accruev1connect.OrderServiceClient
	tracking accruev1connect.TrackingServiceClient
	periods  accruev1connect.PeriodServiceClient
	payouts  accruev1connect.PayoutServiceClient
	clk      *clock.Sim
	url      string // the server's base URL
}

const apiRules = `currency: USD
commission: {default: 10%}
upline: [{level: 1, rate: 2%, base: order_amount}]
payout: {minimum: "100.00"}
`

// wantField fails unless err is a *connect.Error with code whose message
// names field first: the server formats a fault as "field: reason".
func wantField(t *testing.T, err error, code connect.Code, field string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Errorf("got %v (%T), want a %v connect error naming %q", err, err, code, field)
		return
	}
	if ce.Code() != code || !strings.HasPrefix(ce.Message(), field+": ") {
		t.Errorf("got %v %q, want %v naming %q", ce.Code(), ce.Message(), code, field)
	}
}

func newAPI(t *testing.T) *api {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	clk := clock.NewSim(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	srv := New(db, clk, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a := &api{
		db:       db,
		ledger:   accruev1connect.NewLedgerServiceClient(hs.Client(), hs.URL),
		programs: accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL),
		partners: accruev1connect.NewPartnerServiceClient(hs.Client(), hs.URL),
		orders:   accruev1connect.NewOrderServiceClient(hs.Client(), hs.URL),
		tracking: accruev1connect.NewTrackingServiceClient(hs.Client(), hs.URL),
		periods:  accruev1connect.NewPeriodServiceClient(hs.Client(), hs.URL),
		payouts:  accruev1connect.NewPayoutServiceClient(hs.Client(), hs.URL),
		clk:      clk,
		url:      hs.URL,
	}
	if _, err := a.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "p", IdempotencyKey: "rules", Document: apiRules})); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *api) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := a.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func entry(account string, side accruev1.Side, amount string) *accruev1.EntryInput {
	return &accruev1.EntryInput{Account: account, Side: side, Amount: amount}
}

const (
	dr = accruev1.Side_SIDE_DEBIT
	cr = accruev1.Side_SIDE_CREDIT
)

func TestPostTransactionRejectsBadInputAndWritesNothing(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	ok := []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")}
	tooMany := make([]*accruev1.EntryInput, 0, 202)
	for range 101 {
		tooMany = append(tooMany, entry("platform:commission_expense", dr, "1.00"), entry("platform:payout_clearing", cr, "1.00"))
	}
	cases := []struct {
		name  string
		req   *accruev1.PostTransactionRequest
		code  connect.Code
		field string
	}{
		{"unbalanced", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "4.00")}}, connect.CodeInvalidArgument, "entries"},
		{"one entry", &accruev1.PostTransactionRequest{Entries: ok[:1]}, connect.CodeInvalidArgument, "entries"},
		{"zero leg", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "0.00"), entry("platform:payout_clearing", cr, "0.00")}}, connect.CodeInvalidArgument, "entries[0].amount"},
		{"negative leg", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "-5.00"), entry("platform:payout_clearing", cr, "-5.00")}}, connect.CodeInvalidArgument, "entries[0].amount"},
		{"unknown account", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:nope", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")}}, connect.CodeInvalidArgument, "entries[0].account"},
		{"unknown currency", &accruev1.PostTransactionRequest{Currency: "XXX", Entries: ok}, connect.CodeInvalidArgument, "currency"},
		{"other currency", &accruev1.PostTransactionRequest{Currency: "EUR", Entries: ok}, connect.CodeInvalidArgument, "currency"},
		{"malformed decimal", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5,00"), entry("platform:payout_clearing", cr, "5.00")}}, connect.CodeInvalidArgument, "entries[0].amount"},
		{"float form", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5e0"), entry("platform:payout_clearing", cr, "5.00")}}, connect.CodeInvalidArgument, "entries[0].amount"},
		{"three decimals", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.001"), entry("platform:payout_clearing", cr, "5.001")}}, connect.CodeInvalidArgument, "entries[0].amount"},
		{"missing side", &accruev1.PostTransactionRequest{Entries: []*accruev1.EntryInput{{Account: "platform:commission_expense", Amount: "5.00"}, entry("platform:payout_clearing", cr, "5.00")}}, connect.CodeInvalidArgument, "entries[0].side"},
		{"too many entries", &accruev1.PostTransactionRequest{Entries: tooMany}, connect.CodeInvalidArgument, "entries"},
		{"oversize metadata", &accruev1.PostTransactionRequest{Entries: ok, Metadata: map[string]string{"note": strings.Repeat("x", 1025)}}, connect.CodeInvalidArgument, "metadata.note"},
		{"missing kind", &accruev1.PostTransactionRequest{Kind: "-", Entries: ok}, connect.CodeInvalidArgument, "kind"},
		{"missing key", &accruev1.PostTransactionRequest{IdempotencyKey: "-", Entries: ok}, connect.CodeInvalidArgument, "idempotency_key"},
		{"unknown program", &accruev1.PostTransactionRequest{Program: "nope", Entries: ok}, connect.CodeNotFound, "program"},
	}
	beforeTx, beforeEntries := a.count(t, "transactions"), a.count(t, "entries")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req.Program == "" {
				req.Program = "p"
			}
			switch req.IdempotencyKey {
			case "":
				req.IdempotencyKey = "bad-" + tc.name
			case "-":
				req.IdempotencyKey = ""
			}
			switch req.Kind {
			case "":
				req.Kind = "manual"
			case "-":
				req.Kind = ""
			}
			_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(req))
			wantField(t, err, tc.code, tc.field)
		})
	}
	if a.count(t, "transactions") != beforeTx || a.count(t, "entries") != beforeEntries {
		t.Fatal("a rejected request wrote journal rows")
	}
}

func TestPostTransactionIdempotentAcrossRetries(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	req := func(amount string) *accruev1.PostTransactionRequest {
		return &accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "k1", Kind: "manual",
			Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, amount), entry("platform:payout_clearing", cr, amount)}}
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[int64]int{}
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req("7.00")
			r.At = timestamppb.New(time.Date(2026, 1, 2, 0, 0, i, 0, time.UTC)) // `at` is not part of the payload
			resp, err := a.ledger.PostTransaction(ctx, connect.NewRequest(r))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[resp.Msg.GetTransaction().GetId()]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("the same key posted %d transactions: %v", len(ids), ids)
	}
	if n := a.count(t, "transactions WHERE idempotency_key = 'k1'"); n != 1 {
		t.Fatalf("%d rows for key k1, want 1", n)
	}
	_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(req("8.00")))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("same key, other payload: %v, want already_exists", err)
	}
	bal, err := a.ledger.GetBalances(ctx, connect.NewRequest(&accruev1.GetBalancesRequest{Program: "p", Accounts: []string{"platform:payout_clearing"}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := bal.Msg.GetBalances()[0].GetBalance(); got != "7.00" {
		t.Fatalf("payout_clearing = %s, want 7.00", got)
	}
}

func TestOrderCommandsNameTheFieldAtFault(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "r1", Partner: "bob", Code: "BOB"})); err != nil {
		t.Fatal(err)
	}
	line := func(p, a string) *accruev1.OrderLine { return &accruev1.OrderLine{Product: p, Amount: a} }
	cases := []struct {
		name  string
		req   *accruev1.PayOrderRequest
		code  connect.Code
		field string
	}{
		{"no line", &accruev1.PayOrderRequest{Order: "o1", Customer: "c"}, connect.CodeInvalidArgument, "lines"},
		{"negative", &accruev1.PayOrderRequest{Order: "o1", Customer: "c", Lines: []*accruev1.OrderLine{line("bag", "-1.00")}}, connect.CodeInvalidArgument, "lines[0].amount"},
		{"three decimals", &accruev1.PayOrderRequest{Order: "o1", Customer: "c", Lines: []*accruev1.OrderLine{line("bag", "1.000")}}, connect.CodeInvalidArgument, "lines[0].amount"},
		{"bad shipping", &accruev1.PayOrderRequest{Order: "o1", Customer: "c", Shipping: "x", Lines: []*accruev1.OrderLine{line("bag", "1.00")}}, connect.CodeInvalidArgument, "shipping"},
		{"no order id", &accruev1.PayOrderRequest{Customer: "c", Lines: []*accruev1.OrderLine{line("bag", "1.00")}}, connect.CodeInvalidArgument, "order"},
		{"no customer", &accruev1.PayOrderRequest{Order: "o1", Lines: []*accruev1.OrderLine{line("bag", "1.00")}}, connect.CodeInvalidArgument, "customer"},
	}
	for i, tc := range cases {
		tc.req.Program, tc.req.IdempotencyKey, tc.req.PartnerCode = "p", "bad-order-"+string(rune('a'+i)), "BOB"
		_, err := a.orders.PayOrder(ctx, connect.NewRequest(tc.req))
		t.Run(tc.name, func(t *testing.T) { wantField(t, err, tc.code, tc.field) })
	}
	if n := a.count(t, "orders"); n != 0 {
		t.Fatalf("%d orders written by rejected requests", n)
	}
	_, err := a.orders.RefundOrder(ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: "p", IdempotencyKey: "x",
		Order: "nope", Lines: []*accruev1.OrderLine{line("bag", "1.00")}}))
	wantField(t, err, connect.CodeNotFound, "order")
}

func TestApplicationRoleCannotRewriteTheJournal(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	if _, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "k", Kind: "manual",
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "1.00"), entry("platform:payout_clearing", cr, "1.00")}})); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"UPDATE entries SET amount = amount * 2",
		"DELETE FROM entries",
		"UPDATE transactions SET kind = 'x'",
		"DELETE FROM transactions",
		"UPDATE statements SET status = 'final'",
		"DELETE FROM order_events",
	} {
		if _, err := a.db.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s: %v, want permission denied (42501)", sql, err)
		}
	}
}
