package ledger_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accrue/accrue/ledger"
)

// tamperFixture is a sealed journal with statements, its signed head, and
// the owner's (superuser's) pool an attacker would use.
type tamperFixture struct {
	owner  *pgxpool.Pool
	txs    []ledger.Transaction
	head   ledger.Head
	cutoff time.Time
}

// exec runs statements as the owner in one transaction, then fn if given.
func (f *tamperFixture) exec(t *testing.T, fn func(ctx context.Context, tx pgx.Tx) error, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, f.owner, func(tx pgx.Tx) error {
		for _, s := range sqls {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		if fn != nil {
			return fn(ctx, tx)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tampering as the owner: %v", err)
	}
}

// rehash recomputes the stored hash of every transaction, as an attacker
// with the source code would after editing rows.
func rehash(ctx context.Context, tx pgx.Tx) error {
	ts, err := ledger.ListTransactions(ctx, tx, testProgram, ledger.TransactionFilter{AfterID: -1 << 62, Limit: ledger.PageSizeMax})
	if err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := tx.Exec(ctx, `UPDATE transactions SET hash = $2 WHERE id = $1`, t.ID, ledger.ContentHash(t, 2)); err != nil {
			return err
		}
	}
	return nil
}

// resealForged drops every seal and rebuilds the chain, signed with the
// attacker's own key.
func resealForged(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `DELETE FROM seals`); err != nil {
		return err
	}
	_, err := ledger.Seal(ctx, tx, testProgram, farFuture, forgerKey)
	return err
}

func rewriteAndReseal(ctx context.Context, tx pgx.Tx) error {
	if err := rehash(ctx, tx); err != nil {
		return err
	}
	return resealForged(ctx, tx)
}

// newTamperFixture posts 6 transfers and writes 2 statements in two signed
// seals, and saves the head.
func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	ctx := context.Background()
	db, url := openDB(t)
	setupProgram(t, db, chart...)
	f := &tamperFixture{owner: ownerPool(t, url)}
	for i := range 6 {
		f.txs = append(f.txs, mustPost(t, db, transfer(fmt.Sprintf("k%d", i), "platform:commission_expense", "partner:bob:accrued",
			fmt.Sprintf("%d.00", 10+i), t0.Add(time.Duration(i)*time.Hour))))
		if i == 2 {
			seal(t, db)
		}
	}
	for _, p := range []string{"alice", "bob"} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO statements (program_id, partner_id, period, status, released, body, issued_at)
			VALUES ($1, $2, '2026-03', 'final', 25.00, '{"lines": [{"order": "o1", "amount": "25.00"}], "closing": {"payable": "25.00"}}', $3)`,
			testProgram, p, t0); err != nil {
			t.Fatal(err)
		}
	}
	seal(t, db)
	var err error
	if f.head, err = ledger.LatestHead(ctx, db.Pool, testProgram); err != nil || f.head.Seq != 2 {
		t.Fatalf("head %+v (%v), want seal 2", f.head, err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT now()`).Scan(&f.cutoff); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestVerifyDetectsEveryTamperCase runs each superuser tampering from
// issue 7 (and the earlier tamper tests) on a fresh sealed journal and
// requires VerifyWith, given the trusted public key, the saved head and a
// cutoff after every sealed row, to report it. The last line of output is
// the tally the closing note quotes.
func TestVerifyDetectsEveryTamperCase(t *testing.T) {
	trusted := testKey.Public().(ed25519.PublicKey)
	cases := tamperCases()
	detected := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newTamperFixture(t)
			opts := ledger.VerifyOptions{PublicKey: trusted, Head: &f.head, Cutoff: f.cutoff}
			if r, err := ledger.VerifyWith(context.Background(), f.owner, testProgram, opts); err != nil || !r.OK() {
				t.Fatalf("untouched journal: %v %v", err, r.Problems)
			}
			c.tamper(t, f)
			r, err := ledger.VerifyWith(context.Background(), f.owner, testProgram, opts)
			if err != nil {
				t.Fatalf("VerifyWith: %v", err)
			}
			if r.OK() {
				t.Fatal("verify reported ok")
			}
			detected++
			t.Logf("detected:\n%s", strings.Join(r.Problems, "\n"))
		})
	}
	t.Logf("tamper cases detected: %d/%d", detected, len(cases))
}

// tamperCase is one way a superuser changes the journal behind its back.
type tamperCase struct {
	name   string
	tamper func(t *testing.T, f *tamperFixture)
}

// tamperCases are the cases of TestVerifyDetectsEveryTamperCase.
func tamperCases() []tamperCase {
	return []tamperCase{
		{"altered entry amount", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, fmt.Sprintf(`UPDATE entries SET amount = amount + 1 WHERE id = %d`, f.txs[1].Entries[0].ID))
		}},
		{"removed transaction", func(t *testing.T, f *tamperFixture) {
			id := f.txs[1].ID
			f.exec(t, nil, fmt.Sprintf(`DELETE FROM entries WHERE transaction_id = %d`, id), fmt.Sprintf(`DELETE FROM transactions WHERE id = %d`, id))
		}},
		{"transaction inserted under id 0", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, fmt.Sprintf(`INSERT INTO transactions (id, program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, reverses_id, hash, created_at)
				SELECT 0, program_id, kind, 'forged', request_hash, at, period, refs, metadata, reverses_id, hash, created_at FROM transactions WHERE id = %d`, f.txs[0].ID))
		}},
		{"entry moved to another period", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, fmt.Sprintf(`UPDATE entries SET period = '2030-01', at = at + interval '40 days' WHERE id = %d`, f.txs[1].Entries[1].ID))
		}},
		{"consistent rewrite: amounts, balances, hashes and seals recomputed", rewriteConsistently},
		{"seals deleted", func(t *testing.T, f *tamperFixture) { f.exec(t, nil, `DELETE FROM seals`) }},
		{"middle seal deleted", func(t *testing.T, f *tamperFixture) { f.exec(t, nil, `DELETE FROM seals WHERE seq = 1`) }},
		{"last seal block deleted with its transactions", deleteLastSealBlock},
		{"forged transaction with a valid hash appended and sealed", appendForgedAndSeal},
		{"statement released edited", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `UPDATE statements SET released = released + 100 WHERE partner_id = 'alice'`)
		}},
		{"statement line edited", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `UPDATE statements SET body = jsonb_set(body, '{lines,0,amount}', '"250.00"') WHERE partner_id = 'alice'`)
		}},
		{"statement deleted", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `DELETE FROM statements WHERE partner_id = 'bob'`)
		}},
		{"account flipped to debit-normal", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `UPDATE accounts SET normal_side = 1 WHERE code = 'partner:bob:accrued'`)
		}},
		{"account currency changed", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `UPDATE accounts SET currency = 'EUR' WHERE code = 'partner:bob:accrued'`)
		}},
		{"account code renamed", func(t *testing.T, f *tamperFixture) {
			f.exec(t, nil, `UPDATE accounts SET code = 'partner:mallory:accrued' WHERE code = 'partner:bob:accrued'`)
		}},
	}
}

// rewriteConsistently doubles a transaction's amounts and recomputes the
// balances, the hashes and the seals to match.
func rewriteConsistently(t *testing.T, f *tamperFixture) {
	tr := f.txs[1]
	f.exec(t, rewriteAndReseal,
		fmt.Sprintf(`UPDATE entries SET amount = amount * 2 WHERE transaction_id = %d`, tr.ID),
		`UPDATE balances b SET balance = s.sum FROM (SELECT account_id, SUM(amount) AS sum FROM entries GROUP BY account_id) s
				WHERE b.account_id = s.account_id AND b.shard = (SELECT min(shard) FROM balances WHERE account_id = s.account_id)`,
		`UPDATE balances b SET balance = 0 WHERE shard <> (SELECT min(shard) FROM balances c WHERE c.account_id = b.account_id)`)
}

// deleteLastSealBlock deletes the last seal, the transactions it covers
// and the statements, and recomputes the balances without them.
func deleteLastSealBlock(t *testing.T, f *tamperFixture) {
	f.exec(t, nil, `DELETE FROM seals WHERE seq = 2`,
		fmt.Sprintf(`DELETE FROM entries WHERE transaction_id >= %d`, f.txs[3].ID),
		fmt.Sprintf(`DELETE FROM transactions WHERE id >= %d`, f.txs[3].ID),
		`DELETE FROM statements`,
		`UPDATE balances b SET balance = COALESCE((SELECT SUM(amount) FROM entries e WHERE e.account_id = b.account_id), 0),
				entries = (SELECT count(*) FROM entries e WHERE e.account_id = b.account_id)`)
}

// appendForgedAndSeal copies a transaction, valid hash and all, under a
// new id, rehashes and seals it with the forger's key.
func appendForgedAndSeal(t *testing.T, f *tamperFixture) {
	src := f.txs[5].ID
	f.exec(t, func(ctx context.Context, tx pgx.Tx) error {
		if err := rehash(ctx, tx); err != nil {
			return err
		}
		_, err := ledger.Seal(ctx, tx, testProgram, farFuture, forgerKey)
		return err
	},
		fmt.Sprintf(`INSERT INTO transactions (id, program_id, kind, idempotency_key, request_hash, at, period, refs, metadata, reverses_id, hash)
				SELECT 1000, program_id, kind, 'forged', request_hash, at, period, refs, metadata, reverses_id, hash FROM transactions WHERE id = %d`, src),
		fmt.Sprintf(`INSERT INTO entries (transaction_id, account_id, amount, at, period)
				SELECT 1000, account_id, amount, at, period FROM entries WHERE transaction_id = %d`, src),
		`UPDATE balances b SET balance = COALESCE((SELECT SUM(amount) FROM entries e WHERE e.account_id = b.account_id), 0),
				entries = (SELECT count(*) FROM entries e WHERE e.account_id = b.account_id) WHERE shard = 0`)
}
