package affiliate

import (
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/ledger"
)

// Movement accumulates signed deltas (debits positive) by account, keeping
// first-seen order so the journal reads naturally. The zero value is an
// empty movement.
type Movement struct {
	deltas map[string]decimal.Decimal
	order  []string
}

// Move records amount moving from the credited account to the debited one:
// Dr debit / Cr credit. A zero amount records nothing.
func (m *Movement) Move(debit, credit string, amount decimal.Decimal) {
	if amount.IsZero() {
		return
	}
	if m.deltas == nil {
		m.deltas = map[string]decimal.Decimal{}
	}
	for _, c := range []string{debit, credit} {
		if _, ok := m.deltas[c]; !ok {
			m.order = append(m.order, c)
		}
	}
	m.deltas[debit] = m.deltas[debit].Add(amount)
	m.deltas[credit] = m.deltas[credit].Sub(amount)
}

// Legs returns the non-zero net legs in first-seen order: a positive net
// delta is a debit, a negative one a credit.
func (m *Movement) Legs() []ledger.Leg {
	var out []ledger.Leg
	for _, code := range m.order {
		d := m.deltas[code]
		switch {
		case d.IsPositive():
			out = append(out, ledger.Leg{Account: code, Side: ledger.Debit, Amount: d})
		case d.IsNegative():
			out = append(out, ledger.Leg{Account: code, Side: ledger.Credit, Amount: d.Neg()})
		}
	}
	return out
}
