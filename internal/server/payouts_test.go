package server

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func (h *harness) createPayout(key string, m *accruev1.CreatePayoutRequest, at time.Time) (*accruev1.CreatePayoutResponse, error) {
	m.Program, m.IdempotencyKey, m.At = testProgram, key, timestamppb.New(at)
	resp, err := (&payoutService{h.srv}).CreatePayout(h.ctx, connect.NewRequest(m))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (h *harness) settle(id string, at time.Time) error {
	_, err := (&payoutService{h.srv}).SettlePayout(h.ctx, connect.NewRequest(&accruev1.SettlePayoutRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Payout: id, Reference: "bank-ref-" + id,
	}))
	return err
}

func (h *harness) fail(id string, at time.Time) error {
	_, err := (&payoutService{h.srv}).FailPayout(h.ctx, connect.NewRequest(&accruev1.FailPayoutRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Payout: id, Reason: "account closed",
	}))
	return err
}

func (h *harness) spend(key, id, partner, amount string, at time.Time) (*accruev1.Spend, error) {
	resp, err := (&payoutService{h.srv}).SpendCredit(h.ctx, connect.NewRequest(&accruev1.SpendCreditRequest{
		Program: testProgram, IdempotencyKey: key, At: timestamppb.New(at), Spend: id, Partner: partner,
		Amount: amount, Order: "own-" + id,
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.Spend, nil
}

func wantCode(t *testing.T, what string, err error, code fault.Code) {
	t.Helper()
	if fault.CodeOf(err) != code || err == nil {
		t.Errorf("%s: got %v, want code %d", what, err, code)
	}
}

// journalRows counts the rows of transactions, entries, payouts and spends.
func (h *harness) journalRows() [4]int {
	h.t.Helper()
	var n [4]int
	for i, table := range []string{"transactions", "entries", "payouts", "spends"} {
		if err := h.db.Pool.QueryRow(h.ctx, "SELECT count(*) FROM "+table).Scan(&n[i]); err != nil {
			h.t.Fatal(err)
		}
	}
	return n
}

// wantRefused runs a command that must fail with code and checks it wrote
// no transaction, entry, payout or spend.
func wantRefused(t *testing.T, h *harness, what string, code fault.Code, command func() error) {
	t.Helper()
	before := h.journalRows()
	wantCode(t, what, command(), code)
	if after := h.journalRows(); after != before {
		t.Errorf("%s: transactions/entries/payouts/spends went from %v to %v", what, before, after)
	}
}

func wantBalance(t *testing.T, h *harness, account, want string) {
	t.Helper()
	got, ok := h.balances()[account]
	if !ok {
		got = "0.00"
	}
	if got != want {
		t.Errorf("%s = %s, want %s", account, got, want)
	}
}

// TestPayouts: the whole payable by default, settle, fail back to payable,
// an advance only when allowed, and the refusals.
func TestPayouts(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("bob", "", day(time.January, 2))
	h.register("dave", "", day(time.January, 2))
	h.pay("o1", "bob", "1500.00", day(time.January, 5))
	h.pay("o2", "dave", "1500.00", day(time.January, 5))
	h.close("2026-01", day(time.February, 1))
	wantBalance(t, h, "partner:bob:payable", "150.00")
	at := day(time.February, 3)

	resp, err := h.createPayout("pay-1", &accruev1.CreatePayoutRequest{Payout: "p1", Partner: "bob", Method: "bank_transfer"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.Payout; p.Amount != "150.00" || p.Status != accruev1.PayoutStatus_PAYOUT_STATUS_PENDING || p.Advance || p.BankAccount != "" {
		t.Errorf("payout: %v", p)
	}
	replay, err := h.createPayout("pay-1", &accruev1.CreatePayoutRequest{Payout: "p1", Partner: "bob", Method: "bank_transfer"}, at)
	if err != nil || !replay.Replayed || replay.Payout.Amount != "150.00" {
		t.Errorf("replay: %v %v", replay, err)
	}
	wantBalance(t, h, "partner:bob:payable", "0.00")
	wantBalance(t, h, "partner:bob:in_payout", "150.00")
	checkPayoutRefusals(t, h, at)

	if err := h.settle("p1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, h, "settling twice", fault.CodeFailedPrecondition, func() error { return h.settle("p1", at.Add(2*time.Hour)) })
	wantRefused(t, h, "failing a settled payout", fault.CodeFailedPrecondition, func() error { return h.fail("p1", at.Add(2*time.Hour)) })
	wantBalance(t, h, "platform:payout_clearing", "150.00")
	wantBalance(t, h, "partner:bob:in_payout", "0.00")

	// An advance: 40.00 with nothing payable.
	adv, err := h.createPayout(h.key(), &accruev1.CreatePayoutRequest{Payout: "p3", Partner: "bob", Amount: "40.00", AllowAdvance: true}, at)
	if err != nil || !adv.Payout.Advance {
		t.Fatalf("advance: %v %v", adv, err)
	}
	wantBalance(t, h, "partner:bob:payable", "-40.00")
	// It fails: the money returns to payable.
	if err := h.fail("p3", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, h, "partner:bob:payable", "0.00")
	wantBalance(t, h, "partner:bob:in_payout", "0.00")

	// A suspended partner cannot be paid, even in advance.
	h.setStatus("dave", accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED, at)
	wantRefused(t, h, "a suspended partner", fault.CodeFailedPrecondition, func() error {
		_, err := h.createPayout(h.key(), &accruev1.CreatePayoutRequest{Payout: "p4", Partner: "dave", Amount: "10.00", AllowAdvance: true}, at)
		return err
	})
	wantBalance(t, h, "partner:dave:payable", "150.00")
	checkPayoutRecords(t, h)
}

// checkPayoutRefusals: a payout id taken, nothing payable, an advance not
// allowed, an unknown partner or payout, and too many decimals refuse
// and post nothing.
func checkPayoutRefusals(t *testing.T, h *harness, at time.Time) {
	for _, tc := range []struct {
		what string
		code fault.Code
		req  *accruev1.CreatePayoutRequest
	}{
		{"a payout id that exists", fault.CodeAlreadyExists, &accruev1.CreatePayoutRequest{Payout: "p1", Partner: "bob"}},
		{"nothing payable", fault.CodeFailedPrecondition, &accruev1.CreatePayoutRequest{Payout: "p2", Partner: "bob"}},
		{"more than payable without allow_advance", fault.CodeFailedPrecondition, &accruev1.CreatePayoutRequest{Payout: "p2", Partner: "bob", Amount: "10.00"}},
		{"an unknown partner", fault.CodeNotFound, &accruev1.CreatePayoutRequest{Payout: "p2", Partner: "nobody"}},
		{"too many decimals", fault.CodeInvalidArgument, &accruev1.CreatePayoutRequest{Payout: "p2", Partner: "bob", Amount: "1.001"}},
	} {
		wantRefused(t, h, tc.what, tc.code, func() error {
			_, err := h.createPayout(h.key(), tc.req, at)
			return err
		})
	}
	wantRefused(t, h, "settling an unknown payout", fault.CodeNotFound, func() error { return h.settle("p9", at) })
}

// checkPayoutRecords: bob's payouts list with their outcome and bank
// details, and show on his February statement.
func checkPayoutRecords(t *testing.T, h *harness) {
	list, err := (&payoutService{h.srv}).ListPayouts(h.ctx, connect.NewRequest(&accruev1.ListPayoutsRequest{
		Program: testProgram, Partner: "bob", IncludePrivate: true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	ps := list.Msg.Payouts
	if len(ps) != 2 || ps[0].Id != "p1" || ps[0].Status != accruev1.PayoutStatus_PAYOUT_STATUS_SETTLED ||
		ps[0].Reference != "bank-ref-p1" || ps[0].SettledAt == nil || ps[0].BankAccount != "DE00 bob" ||
		ps[1].Id != "p3" || ps[1].Status != accruev1.PayoutStatus_PAYOUT_STATUS_FAILED {
		t.Errorf("payouts: %v", ps)
	}

	// The payouts show on bob's February statement.
	h.close("2026-02", day(time.March, 1))
	st := h.statement("bob", "2026-02")
	wantBalances(t, st.Opening, "0.00", "0.00", "150.00")
	wantBalances(t, st.Closing, "0.00", "0.00", "0.00")
	if got := lineSummary(st); len(got) != 7 || got[0] != "payout payable -150.00 Payout p1" || got[6] != "payout_failed payable 40.00 Payout p3 failed, returned to payable" {
		t.Errorf("bob February lines: %v", got)
	}
}

// TestStoreCredit: a spend takes payable first, then positive accrued; more
// than both, or a suspended partner, posts nothing; a reversal returns it.
func TestStoreCredit(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("frank", "", day(time.January, 2))
	h.pay("t1", "frank", "1500.00", day(time.January, 5)) // 150.00, released
	h.close("2026-01", day(time.February, 1))
	h.pay("t2", "frank", "300.00", day(time.February, 2)) // 30.00 accrued
	at := day(time.February, 3)

	wantRefused(t, h, "more than payable + accrued", fault.CodeFailedPrecondition, func() error {
		_, err := h.spend(h.key(), "sp0", "frank", "180.01", at)
		return err
	})
	sp, err := h.spend("spend-1", "sp1", "frank", "170.00", at)
	if err != nil {
		t.Fatal(err)
	}
	if sp.FromPayable != "150.00" || sp.FromAccrued != "20.00" || sp.Amount != "170.00" {
		t.Errorf("spend: %v", sp)
	}
	wantBalance(t, h, "partner:frank:payable", "0.00")
	wantBalance(t, h, "partner:frank:accrued", "10.00")
	wantBalance(t, h, "platform:store_credit_redeemed", "170.00")
	wantRefused(t, h, "a spend id that exists", fault.CodeAlreadyExists, func() error {
		_, err := h.spend(h.key(), "sp1", "frank", "1.00", at)
		return err
	})
	wantRefused(t, h, "a key reused with another payload", fault.CodeAlreadyExists, func() error {
		_, err := h.spend("spend-1", "sp1", "frank", "2.00", at)
		return err
	})

	rev := func() error {
		_, err := (&payoutService{h.srv}).ReverseSpend(h.ctx, connect.NewRequest(&accruev1.ReverseSpendRequest{
			Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Spend: "sp1",
		}))
		return err
	}
	if err := rev(); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, h, "reversing twice", fault.CodeFailedPrecondition, rev)
	wantBalance(t, h, "partner:frank:payable", "150.00")
	wantBalance(t, h, "partner:frank:accrued", "30.00")
	wantBalance(t, h, "platform:store_credit_redeemed", "0.00")

	h.setStatus("frank", accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED, at)
	wantRefused(t, h, "a suspended partner", fault.CodeFailedPrecondition, func() error {
		_, err := h.spend(h.key(), "sp2", "frank", "1.00", at)
		return err
	})

	st := func() []string {
		h.close("2026-02", day(time.March, 1))
		return lineSummary(h.statement("frank", "2026-02"))
	}()
	want := "spend_reversal payable 150.00 Store credit spend sp1 reversed"
	found := false
	for _, l := range st {
		found = found || l == want
	}
	if !found || st[1] != "spend payable -150.00 Store credit spend sp1 (order own-sp1)" {
		t.Errorf("frank February lines: %v", st)
	}
}
