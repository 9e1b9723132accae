package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestRawLedgerStaysOutOfTheDomain: the raw ledger API may post manual
// adjustments to partner and platform accounts, but not with the domain's
// keys or kinds, not reverse the domain's transactions, and not open
// accounts the domain manages.
func TestRawLedgerStaysOutOfTheDomain(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "r", Partner: "bob", Code: "BOB"})); err != nil {
		t.Fatal(err)
	}
	paid, err := a.orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "o1",
		Order: "o1", Customer: "c", PartnerCode: "BOB", Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "50.00"}}}))
	if err != nil {
		t.Fatal(err)
	}
	adjust := func(key, kind string) error {
		_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: key, Kind: kind,
			Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "3.00"), entry("partner:bob:accrued", cr, "3.00")}}))
		return err
	}
	if err := adjust("bonus-1", "manual_adjustment"); err != nil {
		t.Fatalf("a manual bonus to a partner: %v", err)
	}
	for _, tc := range []struct{ key, kind, field string }{
		{"cmd:o1", "manual_adjustment", "idempotency_key"},
		{"close:2026-01:release:bob", "manual_adjustment", "idempotency_key"},
		{"bonus-2", "release", "kind"},
		{"bonus-3", "order.accrual", "kind"},
	} {
		err := adjust(tc.key, tc.kind)
		t.Run(tc.key+"/"+tc.kind, func(t *testing.T) { wantField(t, err, connect.CodeInvalidArgument, tc.field) })
	}
	for _, account := range []string{"partner:bob:pending", "partner:bob:in_payout"} {
		_, err := a.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "p", IdempotencyKey: "adj-" + account, Kind: "manual_adjustment",
			Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "1.00"), entry(account, cr, "1.00")}}))
		t.Run(account, func(t *testing.T) { wantField(t, err, connect.CodeInvalidArgument, "entries[1].account") })
	}
	txs, err := a.ledger.ListTransactions(ctx, connect.NewRequest(&accruev1.ListTransactionsRequest{Program: "p", Reference: "order=o1"}))
	if err != nil {
		t.Fatal(err)
	}
	if o := paid.Msg.GetOrder(); !o.GetAccrued() || o.GetPartner() != "bob" {
		t.Fatalf("order o1: %v, want accrued to bob", o)
	}
	if got := txs.Msg.GetTransactions(); len(got) != 1 || got[0].GetKind() != "order.accrual" || got[0].GetIdempotencyKey() != "cmd:o1" {
		t.Fatalf("order o1 lists transactions %v, want its accrual", got)
	}
	_, err = a.ledger.ReverseTransaction(ctx, connect.NewRequest(&accruev1.ReverseTransactionRequest{Program: "p", IdempotencyKey: "rev",
		TransactionId: txs.Msg.GetTransactions()[0].GetId()}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("reversing an order's accrual by hand: %v, want failed_precondition", err)
	}
	_, err = a.ledger.OpenAccount(ctx, connect.NewRequest(&accruev1.OpenAccountRequest{Program: "p", Code: "partner:eve:accrued", NormalSide: dr}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("opening a partner account by hand: %v, want invalid_argument", err)
	}
	if _, err := a.ledger.OpenAccount(ctx, connect.NewRequest(&accruev1.OpenAccountRequest{Program: "p", Code: "bank:operating", NormalSide: dr})); err != nil {
		t.Fatalf("opening a finance account: %v", err)
	}
}

// TestBackdatedRulesVersionDoesNotOverrideALaterOne: the version in force
// is the one effective latest, not the highest number.
func TestBackdatedRulesVersionDoesNotOverrideALaterOne(t *testing.T) {
	a := newAPI(t) // version 1 (10%), effective at the clock's 2026-02-01
	ctx := context.Background()
	put := func(key, rate string, at time.Time) {
		t.Helper()
		doc := strings.Replace(apiRules, "10%", rate, 1)
		if _, err := a.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: key,
			At: timestamppb.New(at), Document: doc})); err != nil {
			t.Fatal(err)
		}
	}
	put("v2", "20%", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	put("v3", "30%", time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)) // backdated between v1 and v2
	for _, tc := range []struct {
		at   time.Time
		want int32
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1}, // before all: the earliest effective
		{time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 2},
	} {
		got, err := a.programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: "p", At: timestamppb.New(tc.at)}))
		if err != nil {
			t.Fatal(err)
		}
		if v := got.Msg.GetVersion().GetVersion(); v != tc.want {
			t.Errorf("at %s: version %d, want %d", tc.at.Format(time.DateOnly), v, tc.want)
		}
	}
}

// TestConcurrentRelinksCannotMakeACycle races "a under b" against "b under
// a": exactly one may win.
func TestConcurrentRelinksCannotMakeACycle(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	for round := range 10 {
		x, y := fmt.Sprintf("x%d", round), fmt.Sprintf("y%d", round)
		for _, id := range []string{x, y} {
			if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
				Program: "p", IdempotencyKey: "reg-" + id, Partner: id})); err != nil {
				t.Fatal(err)
			}
		}
		var (
			wg   sync.WaitGroup
			errs = make([]error, 2)
		)
		for i, pair := range [][2]string{{x, y}, {y, x}} {
			wg.Go(func() {
				_, errs[i] = a.partners.UpdatePartner(ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
					Program: "p", IdempotencyKey: fmt.Sprintf("link-%d-%d", round, i), Partner: pair[0], Parent: pair[1]}))
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantField(t, err, connect.CodeInvalidArgument, "parent")
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d re-links succeeded (%v), want exactly 1", round, ok, errs)
		}
	}
}

// TestBackdatedRelinkIsRefused: parent links go forward in time; a re-link
// dated before a later one is refused, and the upline stays the latest link.
func TestBackdatedRelinkIsRefused(t *testing.T) {
	h := newHarness(t, "0d")
	for _, id := range []string{"a", "b", "c"} {
		h.register(id, "", day(time.January, 2))
	}
	h.register("x", "a", day(time.January, 3))
	relink := func(parent string, at time.Time) error {
		_, err := (&partnerService{h.srv}).UpdatePartner(h.ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
			Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: "x", Parent: parent}))
		return err
	}
	h.must(relink("b", day(time.January, 20)))
	if err := relink("c", day(time.January, 10)); fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Fatalf("a backdated re-link: %v, want failed_precondition", err)
	}
	chain, err := service.UplineAt(h.ctx, h.db.Pool, testProgram, "x", day(time.January, 25), 3)
	h.must(err)
	if len(chain) != 1 || chain[0].Partner != "b" {
		t.Fatalf("upline of x on Jan 25: %v, want [b]", chain)
	}
	chain, err = service.UplineAt(h.ctx, h.db.Pool, testProgram, "x", day(time.January, 10), 3)
	h.must(err)
	if len(chain) != 1 || chain[0].Partner != "a" {
		t.Fatalf("upline of x on Jan 10: %v, want [a]", chain)
	}
}
