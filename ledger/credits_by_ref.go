package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// CreditsByRef sums, in one grouped query, what transactions of the given
// kinds credited to the accounts named (codes), net of debits, by the
// value of one of their references (refs ->> ref), for the values given;
// a value no such transaction carries is absent from the map.
func CreditsByRef(ctx context.Context, q Querier, program string, codes, kinds []string, ref string, values []string) (map[string]decimal.Decimal, error) {
	out := map[string]decimal.Decimal{}
	if len(codes) == 0 || len(values) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT t.refs ->> $4, (-sum(e.amount))::text
		FROM accounts a
		JOIN entries e ON e.account_id = a.id
		JOIN transactions t ON t.id = e.transaction_id
		WHERE a.program_id = $1 AND a.code = ANY($2::text[]) AND t.kind = ANY($3::text[]) AND t.refs ->> $4 = ANY($5::text[])
		GROUP BY 1`, program, codes, kinds, ref, values)
	if err != nil {
		return nil, fmt.Errorf("ledger: summing credits by %s: %w", ref, err)
	}
	type sum struct {
		value  string
		amount decimal.Decimal
	}
	sums, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sum, error) {
		var (
			s      sum
			amount string
		)
		if err := row.Scan(&s.value, &amount); err != nil {
			return s, err
		}
		s.amount, err = decimal.NewFromString(amount)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: summing credits by %s: %w", ref, err)
	}
	for _, s := range sums {
		out[s.value] = s.amount
	}
	return out, nil
}
