package affiliate_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestPayoutAmount(t *testing.T) {
	tests := []struct {
		name         string
		payable      string
		requested    string
		allowAdvance bool
		want         string
		wantAdvance  bool
		code         fault.Code // for a refused request (want is "")
	}{
		{name: "whole payable by default", payable: "150.00", requested: "", want: "150.00"},
		{name: "nothing payable", payable: "0", requested: "", code: fault.CodeFailedPrecondition},
		{name: "default after an advance took payable below zero", payable: "-20.00", requested: "", code: fault.CodeFailedPrecondition},
		{name: "less than payable", payable: "150.00", requested: "100.00", want: "100.00"},
		{name: "exactly payable", payable: "150.00", requested: "150.00", want: "150.00"},
		{name: "exactly payable, advance allowed", payable: "150.00", requested: "150.00", allowAdvance: true, want: "150.00"},
		{name: "more than payable without allow_advance", payable: "150.00", requested: "150.01", code: fault.CodeFailedPrecondition},
		{name: "advance", payable: "50.00", requested: "80.00", allowAdvance: true, want: "80.00", wantAdvance: true},
		{name: "advance with nothing payable", payable: "0", requested: "10.00", allowAdvance: true, want: "10.00", wantAdvance: true},
		{name: "advance on a negative payable", payable: "-20.00", requested: "10.00", allowAdvance: true, want: "10.00", wantAdvance: true},
		{name: "any amount on a negative payable needs allow_advance", payable: "-20.00", requested: "10.00", code: fault.CodeFailedPrecondition},
		{name: "zero", payable: "150.00", requested: "0", code: fault.CodeInvalidArgument},
		{name: "negative", payable: "150.00", requested: "-5.00", code: fault.CodeInvalidArgument},
		{name: "not a number", payable: "150.00", requested: "abc", code: fault.CodeInvalidArgument},
		{name: "more decimals than the currency", payable: "150.00", requested: "1.001", code: fault.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, advance, err := affiliate.PayoutAmount("rob", dec(tc.payable), tc.requested, tc.allowAdvance, 2)
			if tc.want == "" {
				if err == nil || fault.CodeOf(err) != tc.code {
					t.Fatalf("got %s (advance %v), %v; want code %d", got, advance, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !got.Equal(dec(tc.want)) || advance != tc.wantAdvance {
				t.Fatalf("got %s advance %v, want %s advance %v", got, advance, tc.want, tc.wantAdvance)
			}
		})
	}
}

func TestSplitSpend(t *testing.T) {
	tests := []struct {
		name                     string
		amount, payable, accrued string
		fromPayable, fromAccrued string
		code                     fault.Code // for a refused spend (fromPayable is "")
	}{
		{name: "within payable", amount: "30.00", payable: "50.00", accrued: "20.00", fromPayable: "30.00", fromAccrued: "0"},
		{name: "exactly payable", amount: "50.00", payable: "50.00", accrued: "20.00", fromPayable: "50.00", fromAccrued: "0"},
		{name: "payable then accrued", amount: "60.00", payable: "50.00", accrued: "20.00", fromPayable: "50.00", fromAccrued: "10.00"},
		{name: "exactly payable + accrued", amount: "70.00", payable: "50.00", accrued: "20.00", fromPayable: "50.00", fromAccrued: "20.00"},
		{name: "more than payable + accrued", amount: "70.01", payable: "50.00", accrued: "20.00", code: fault.CodeFailedPrecondition},
		{name: "accrued only", amount: "15.00", payable: "0", accrued: "20.00", fromPayable: "0", fromAccrued: "15.00"},
		{name: "nothing to spend", amount: "0.01", payable: "0", accrued: "0", code: fault.CodeFailedPrecondition},
		// A clawback took accrued below zero: the limit is the net.
		{name: "negative accrued, within the net", amount: "30.00", payable: "50.00", accrued: "-20.00", fromPayable: "30.00", fromAccrued: "0"},
		{name: "negative accrued, over the net", amount: "30.01", payable: "50.00", accrued: "-20.00", code: fault.CodeFailedPrecondition},
		// An advance took payable below zero: nothing comes from payable.
		{name: "negative payable, within the net", amount: "30.00", payable: "-20.00", accrued: "50.00", fromPayable: "0", fromAccrued: "30.00"},
		{name: "negative payable, over the net", amount: "30.01", payable: "-20.00", accrued: "50.00", code: fault.CodeFailedPrecondition},
		{name: "both negative", amount: "0.01", payable: "-20.00", accrued: "-5.00", code: fault.CodeFailedPrecondition},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			amount := dec(tc.amount)
			fromPayable, fromAccrued, err := affiliate.SplitSpend(amount, dec(tc.payable), dec(tc.accrued), 2)
			if tc.fromPayable == "" {
				if err == nil || fault.CodeOf(err) != tc.code {
					t.Fatalf("got %s + %s, %v; want code %d", fromPayable, fromAccrued, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !fromPayable.Equal(dec(tc.fromPayable)) || !fromAccrued.Equal(dec(tc.fromAccrued)) {
				t.Fatalf("got %s from payable + %s from accrued, want %s + %s",
					fromPayable, fromAccrued, tc.fromPayable, tc.fromAccrued)
			}
			if !fromPayable.Add(fromAccrued).Equal(amount) || fromPayable.IsNegative() || fromAccrued.IsNegative() {
				t.Fatalf("split %s + %s does not add up to %s with no negative part", fromPayable, fromAccrued, amount)
			}
		})
	}
}

func TestBankDetails(t *testing.T) {
	got := affiliate.BankDetails(map[string]string{"bank_account": "DE00", "bank_name": "", "tax_id": "x"})
	if len(got) != 1 || got["bank_account"] != "DE00" {
		t.Errorf("BankDetails = %v, want only the non-empty bank keys", got)
	}
	if got := affiliate.BankDetails(nil); got == nil || len(got) != 0 {
		t.Errorf("BankDetails(nil) = %#v, want an empty map", got)
	}
}

func TestPreconditions(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want fault.Code // 0: allowed
	}{
		{"an active partner is paid", affiliate.CheckPayee("bob", "active"), 0},
		{"a suspended partner is not paid", affiliate.CheckPayee("bob", "suspended"), fault.CodeFailedPrecondition},
		{"an active partner spends", affiliate.CheckSpender("bob", "active"), 0},
		{"a suspended partner does not spend", affiliate.CheckSpender("bob", "suspended"), fault.CodeFailedPrecondition},
		{"a pending payout finishes", affiliate.CheckPayoutPending("p1", affiliate.PayoutPending), 0},
		{"a settled payout does not", affiliate.CheckPayoutPending("p1", affiliate.PayoutSettled), fault.CodeFailedPrecondition},
		{"a failed payout does not", affiliate.CheckPayoutPending("p1", affiliate.PayoutFailed), fault.CodeFailedPrecondition},
		{"a spend is reversed once", affiliate.CheckSpendReversible("s1", false), 0},
		{"not twice", affiliate.CheckSpendReversible("s1", true), fault.CodeFailedPrecondition},
	} {
		if (tc.want == 0) != (tc.err == nil) || (tc.err != nil && fault.CodeOf(tc.err) != tc.want) {
			t.Errorf("%s: got %v, want code %d", tc.name, tc.err, tc.want)
		}
	}
}

func TestSpendAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for invalid_argument
	}{
		{"1.50", "1.50"}, {"0", ""}, {"-1.00", ""}, {"1.001", ""}, {"abc", ""}, {"", ""},
	} {
		got, err := affiliate.SpendAmount(tc.in, 2)
		switch {
		case tc.want == "" && fault.CodeOf(err) != fault.CodeInvalidArgument:
			t.Errorf("SpendAmount(%q) = %s, %v; want invalid_argument", tc.in, got, err)
		case tc.want != "" && (err != nil || !got.Equal(dec(tc.want))):
			t.Errorf("SpendAmount(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestPayoutAndSpendLegs(t *testing.T) {
	leg := func(account string, side ledger.Side, amount string) ledger.Leg {
		return ledger.Leg{Account: account, Side: side, Amount: dec(amount)}
	}
	payable, accrued := affiliate.PartnerAccount("bob", affiliate.Payable), affiliate.PartnerAccount("bob", affiliate.Accrued)
	inPayout := affiliate.PartnerAccount("bob", affiliate.InPayout)
	for _, tc := range []struct {
		name string
		got  []ledger.Leg
		want []ledger.Leg
	}{
		{"payout: Dr payable / Cr in_payout", affiliate.PayoutLegs("bob", dec("40")),
			[]ledger.Leg{leg(payable, ledger.Debit, "40"), leg(inPayout, ledger.Credit, "40")}},
		{"settled: Dr in_payout / Cr clearing", affiliate.FinishPayoutLegs("bob", affiliate.PayoutSettled, dec("40")),
			[]ledger.Leg{leg(inPayout, ledger.Debit, "40"), leg(affiliate.PayoutClearing, ledger.Credit, "40")}},
		{"failed: Dr in_payout / Cr payable", affiliate.FinishPayoutLegs("bob", affiliate.PayoutFailed, dec("40")),
			[]ledger.Leg{leg(inPayout, ledger.Debit, "40"), leg(payable, ledger.Credit, "40")}},
		{"spend from both", affiliate.SpendLegs("bob", dec("30"), dec("5")),
			[]ledger.Leg{leg(payable, ledger.Debit, "30"), leg(affiliate.StoreCreditRedeemed, ledger.Credit, "35"), leg(accrued, ledger.Debit, "5")}},
		{"spend from accrued only", affiliate.SpendLegs("bob", dec("0"), dec("5")),
			[]ledger.Leg{leg(accrued, ledger.Debit, "5"), leg(affiliate.StoreCreditRedeemed, ledger.Credit, "5")}},
		{"reversal returns both", affiliate.SpendReversalLegs("bob", dec("30"), dec("5")),
			[]ledger.Leg{leg(affiliate.StoreCreditRedeemed, ledger.Debit, "35"), leg(payable, ledger.Credit, "30"), leg(accrued, ledger.Credit, "5")}},
	} {
		if len(tc.got) != len(tc.want) {
			t.Errorf("%s: legs %v, want %v", tc.name, tc.got, tc.want)
			continue
		}
		for i := range tc.got {
			if g, w := tc.got[i], tc.want[i]; g.Account != w.Account || g.Side != w.Side || !g.Amount.Equal(w.Amount) {
				t.Errorf("%s: legs %v, want %v", tc.name, tc.got, tc.want)
				break
			}
		}
	}
}

func TestRefs(t *testing.T) {
	if got := affiliate.PayoutRefs("p1", "bob"); len(got) != 2 || got["payout"] != "p1" || got["partner"] != "bob" {
		t.Errorf("PayoutRefs = %v", got)
	}
	if got := affiliate.SpendRefs("s1", "bob", ""); len(got) != 2 || got["spend"] != "s1" {
		t.Errorf("SpendRefs without an order = %v", got)
	}
	if got := affiliate.SpendRefs("s1", "bob", "o1"); len(got) != 3 || got["spend_order"] != "o1" {
		t.Errorf("SpendRefs with an order = %v", got)
	}
}
