package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/accrue/accrue/internal/fault"
)

// OpenAccounts is OpenAccount for several codes of one normal side and
// shard count, in two statements whatever their number (one insert, one
// read to check them): a partner's registration opens its five accounts
// at once.
func OpenAccounts(ctx context.Context, q Querier, program string, codes []string, normal Side, shards int, recorded time.Time) error {
	for _, code := range codes {
		if code == "" || len(code) > AccountLenMax {
			return fault.InvalidArgument("code", "an account code has 1 to %d characters", AccountLenMax)
		}
	}
	if normal != Debit && normal != Credit {
		return fault.InvalidArgument("normal_side", "must be debit or credit")
	}
	shards = max(1, min(shards, AccountShardsMax))
	if recorded.IsZero() {
		return fmt.Errorf("ledger: accounts %v have no recorded time", codes)
	}
	_, err := q.Exec(ctx, `INSERT INTO accounts (program_id, code, normal_side, currency, shards, created_at)
		SELECT p.id, c.code, $3, p.currency, $4, $5 FROM programs p, unnest($2::text[]) AS c (code) WHERE p.id = $1
		ON CONFLICT (program_id, code) DO NOTHING`, program, codes, int16(normal), shards, recorded)
	if err != nil {
		return fmt.Errorf("ledger: opening accounts %v: %w", codes, err)
	}
	accounts, err := loadAccounts(ctx, q, program, codes)
	if err != nil {
		return err
	}
	for _, code := range codes {
		a, ok := accounts[code]
		if !ok {
			return fault.NotFound("program", "no program %q", program)
		}
		if a.NormalSide != normal {
			return fault.AlreadyExists("code", "account %s exists with normal side %s", code, a.NormalSide)
		}
	}
	return nil
}
