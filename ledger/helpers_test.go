package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testProgram is the program every test posts to.
const testProgram = "p1"

// t0 is the start of the tests' simulated time; tests never read the clock.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// recorded is when the tests record their rows (Posting.Recorded): one
// instant of their simulated time, long before farFuture.
var recorded = t0

// openDB gives tb a fresh, migrated database and returns the application
// pool (role accrue_app) and the database URL (whose user owns the schema).
func openDB(tb testing.TB) (*txn.DB, string) {
	tb.Helper()
	url := pgtest.DatabaseURL(tb)
	db, err := database.Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("database.Open: %v", err)
	}
	tb.Cleanup(db.Pool.Close)
	return db, url
}

// accountSpec is an account to open: code, normal side and balance shards.
type accountSpec struct {
	code   string
	normal ledger.Side
	shards int
}

// setupProgram creates testProgram (USD, UTC) and opens accounts in one
// transaction.
func setupProgram(tb testing.TB, db *txn.DB, accounts ...accountSpec) {
	tb.Helper()
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		if _, err := ledger.CreateProgram(context.Background(), tx, testProgram, "USD", "UTC", t0); err != nil {
			return err
		}
		for _, a := range accounts {
			got, err := ledger.OpenAccount(context.Background(), tx, testProgram, a.code, a.normal, a.shards, recorded)
			if err != nil {
				return err
			}
			if got.Code != a.code || got.NormalSide != a.normal || got.Shards != max(1, a.shards) {
				return fmt.Errorf("opened %+v, want %+v", got, a)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("setting up program: %v", err)
	}
}

// post writes p in its own retried transaction.
func post(ctx context.Context, db *txn.DB, p ledger.Posting) (ledger.Transaction, bool, error) {
	var (
		t        ledger.Transaction
		replayed bool
	)
	err := db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		t, replayed, err = ledger.Post(ctx, tx, p)
		return err
	})
	return t, replayed, err
}

// mustPost is post that fails the test on error.
func mustPost(tb testing.TB, db *txn.DB, p ledger.Posting) ledger.Transaction {
	tb.Helper()
	t, _, err := post(context.Background(), db, p)
	if err != nil {
		tb.Fatalf("posting %s: %v", p.Key, err)
	}
	return t
}

// amount parses a decimal literal.
func amount(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// transfer is a two-leg posting: amount from credit to debit.
func transfer(key, debit, credit, amt string, at time.Time) ledger.Posting {
	return ledger.Posting{
		Program: testProgram, Key: key, Kind: "test", At: at, Recorded: recorded,
		Legs: []ledger.Leg{
			{Account: debit, Side: ledger.Debit, Amount: amount(amt)},
			{Account: credit, Side: ledger.Credit, Amount: amount(amt)},
		},
	}
}

// balances reads every account's balance on its normal side, stored (zero
// asOf) or as of asOf.
func balances(tb testing.TB, q ledger.Querier, asOf time.Time) map[string]decimal.Decimal {
	tb.Helper()
	bs, err := ledger.Balances(context.Background(), q, testProgram, nil, asOf)
	if err != nil {
		tb.Fatalf("Balances(asOf %v): %v", asOf, err)
	}
	out := make(map[string]decimal.Decimal, len(bs))
	for _, b := range bs {
		out[b.Account] = b.Amount
	}
	return out
}

// requireVerified fails the test unless Verify finds nothing wrong, and
// returns its report.
func requireVerified(tb testing.TB, q ledger.Querier) ledger.Report {
	tb.Helper()
	r, err := ledger.Verify(context.Background(), q, testProgram)
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	if !r.OK() {
		tb.Fatalf("Verify found problems:\n%s", strings.Join(r.Problems, "\n"))
	}
	return r
}

// countRows counts the journal rows of testProgram: transactions and their
// entries.
func countRows(tb testing.TB, q ledger.Querier) (transactions, entries int64) {
	tb.Helper()
	err := q.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM transactions WHERE program_id = $1),
		(SELECT count(*) FROM entries e JOIN transactions t ON t.id = e.transaction_id WHERE t.program_id = $1)`,
		testProgram).Scan(&transactions, &entries)
	if err != nil {
		tb.Fatalf("counting journal rows: %v", err)
	}
	return transactions, entries
}

// allEntries pages through account's entries with pages of limit.
func allEntries(tb testing.TB, q ledger.Querier, account string, limit int) []ledger.Entry {
	tb.Helper()
	var out []ledger.Entry
	for after := int64(0); ; {
		page, err := ledger.ListEntries(context.Background(), q, testProgram, account, after, limit)
		if err != nil {
			tb.Fatalf("ListEntries(%s, after %d): %v", account, after, err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].ID
	}
}

// sqlState returns err's SQLSTATE, or "" when err is not a server error.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// signed turns a balance on an account's normal side into debits minus
// credits.
func signed(b decimal.Decimal, normal ledger.Side) decimal.Decimal {
	return b.Mul(decimal.NewFromInt(int64(normal)))
}
