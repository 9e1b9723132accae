package affiliate_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
)

func TestMovementLegs(t *testing.T) {
	d := decimal.RequireFromString
	type move struct {
		debit, credit string
		amount        string
	}
	for _, tc := range []struct {
		name  string
		moves []move
		want  []ledger.Leg
	}{
		{"empty", nil, nil},
		{"zero amount records nothing", []move{{"a", "b", "0"}}, nil},
		{"one move", []move{{"a", "b", "1.50"}}, []ledger.Leg{
			{Account: "a", Side: ledger.Debit, Amount: d("1.50")},
			{Account: "b", Side: ledger.Credit, Amount: d("1.50")},
		}},
		{"nets by account in first-seen order", []move{{"a", "b", "5"}, {"c", "a", "2"}}, []ledger.Leg{
			{Account: "a", Side: ledger.Debit, Amount: d("3")},
			{Account: "b", Side: ledger.Credit, Amount: d("5")},
			{Account: "c", Side: ledger.Debit, Amount: d("2")},
		}},
		{"a move and its undo leave nothing", []move{{"a", "b", "4"}, {"b", "a", "4"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m affiliate.Movement
			for _, mv := range tc.moves {
				m.Move(mv.debit, mv.credit, d(mv.amount))
			}
			got := m.Legs()
			if len(got) != len(tc.want) {
				t.Fatalf("legs = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Account != tc.want[i].Account || got[i].Side != tc.want[i].Side || !got[i].Amount.Equal(tc.want[i].Amount) {
					t.Fatalf("legs = %v, want %v", got, tc.want)
				}
			}
		})
	}
}
