package server

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
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
		{name: "nothing payable", payable: "0", requested: "", code: fault.FailedPrecondition},
		{name: "default after an advance took payable below zero", payable: "-20.00", requested: "", code: fault.FailedPrecondition},
		{name: "less than payable", payable: "150.00", requested: "100.00", want: "100.00"},
		{name: "exactly payable", payable: "150.00", requested: "150.00", want: "150.00"},
		{name: "exactly payable, advance allowed", payable: "150.00", requested: "150.00", allowAdvance: true, want: "150.00"},
		{name: "more than payable without allow_advance", payable: "150.00", requested: "150.01", code: fault.FailedPrecondition},
		{name: "advance", payable: "50.00", requested: "80.00", allowAdvance: true, want: "80.00", wantAdvance: true},
		{name: "advance with nothing payable", payable: "0", requested: "10.00", allowAdvance: true, want: "10.00", wantAdvance: true},
		{name: "advance on a negative payable", payable: "-20.00", requested: "10.00", allowAdvance: true, want: "10.00", wantAdvance: true},
		{name: "any amount on a negative payable needs allow_advance", payable: "-20.00", requested: "10.00", code: fault.FailedPrecondition},
		{name: "zero", payable: "150.00", requested: "0", code: fault.InvalidArgument},
		{name: "negative", payable: "150.00", requested: "-5.00", code: fault.InvalidArgument},
		{name: "not a number", payable: "150.00", requested: "abc", code: fault.InvalidArgument},
		{name: "more decimals than the currency", payable: "150.00", requested: "1.001", code: fault.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, advance, err := payoutAmount("rob", dec(tc.payable), tc.requested, tc.allowAdvance, 2)
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
		{name: "more than payable + accrued", amount: "70.01", payable: "50.00", accrued: "20.00", code: fault.FailedPrecondition},
		{name: "accrued only", amount: "15.00", payable: "0", accrued: "20.00", fromPayable: "0", fromAccrued: "15.00"},
		{name: "nothing to spend", amount: "0.01", payable: "0", accrued: "0", code: fault.FailedPrecondition},
		// A clawback took accrued below zero: the limit is the net.
		{name: "negative accrued, within the net", amount: "30.00", payable: "50.00", accrued: "-20.00", fromPayable: "30.00", fromAccrued: "0"},
		{name: "negative accrued, over the net", amount: "30.01", payable: "50.00", accrued: "-20.00", code: fault.FailedPrecondition},
		// An advance took payable below zero: nothing comes from payable.
		{name: "negative payable, within the net", amount: "30.00", payable: "-20.00", accrued: "50.00", fromPayable: "0", fromAccrued: "30.00"},
		{name: "negative payable, over the net", amount: "30.01", payable: "-20.00", accrued: "50.00", code: fault.FailedPrecondition},
		{name: "both negative", amount: "0.01", payable: "-20.00", accrued: "-5.00", code: fault.FailedPrecondition},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			amount := dec(tc.amount)
			fromPayable, fromAccrued, err := splitSpend(amount, dec(tc.payable), dec(tc.accrued), 2)
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
