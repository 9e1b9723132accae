package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// journalCLI is a server holding the demo program, signing with key, the
// schema owner's pool (a superuser on the test server: the attacker's), and
// the head `accrue journal head` saved after two seals.
type journalCLI struct {
	t        *testing.T
	db       *txn.DB
	owner    *pgxpool.Pool
	key      ed25519.PrivateKey
	url      string
	headFile string
	// head is the saved head's seal, lastTx the transaction just before it
	// (sealed by it), firstTx the journal's first transaction.
	head            ledger.Head
	firstTx, lastTx int64
}

// farFuture is a time to seal at past every row: an attacker resealing does
// not wait for ledger.SealLag.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func newJournalCLI(t *testing.T) *journalCLI {
	t.Helper()
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	j := &journalCLI{t: t, db: db, owner: owner, key: key}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	j.url = j.serve(now)
	if err := demo.Load(ctx, j.url, now); err != nil {
		t.Fatal(err)
	}
	j.age()
	j.cli("journal", "head") // seal 1: the demo's transactions, accounts and statements
	j.cli("post", "--key", "after-1", "platform:commission_expense:debit:3.00", "platform:payout_clearing:credit:3.00")
	j.age()
	j.headFile = filepath.Join(t.TempDir(), "head.json")
	if err := os.WriteFile(j.headFile, []byte(j.cli("journal", "head")), 0o644); err != nil {
		t.Fatal(err)
	}
	if j.head, err = ledger.LatestHead(ctx, owner, "demo"); err != nil || j.head.Seq != 2 {
		t.Fatalf("head %+v (%v), want seal 2", j.head, err)
	}
	if err := owner.QueryRow(ctx, `SELECT min(id), max(id) FROM transactions`).Scan(&j.firstTx, &j.lastTx); err != nil {
		t.Fatal(err)
	}
	return j
}

// serve starts another accrued on the journal's database with its key (a
// restart forgets the heads the previous process saw) and returns its URL.
func (j *journalCLI) serve(now time.Time) string {
	srv := server.New(j.db, clock.NewSim(now), nil)
	srv.UseSigningKey(j.key)
	hs := httptest.NewServer(srv.Handler())
	j.t.Cleanup(hs.Close)
	return hs.URL
}

// age makes every row look written two minutes earlier, past ledger.SealLag
// but inside the missing-seal grace; created_at is in no hash.
func (j *journalCLI) age() {
	j.t.Helper()
	for _, table := range []string{"transactions", "accounts", "statements"} {
		if _, err := j.owner.Exec(context.Background(), `UPDATE `+table+` SET created_at = created_at - interval '2 minutes'`); err != nil {
			j.t.Fatal(err)
		}
	}
}

// run runs the CLI against url and returns its output and error.
func (j *journalCLI) run(url string, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"--server", url}, args...), &out)
	return out.String(), err
}

func (j *journalCLI) cli(args ...string) string {
	j.t.Helper()
	out, err := j.run(j.url, args...)
	if err != nil {
		j.t.Fatalf("accrue %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (j *journalCLI) publicKey() string {
	return base64.StdEncoding.EncodeToString(j.key.Public().(ed25519.PublicKey))
}

// tamper runs sqls and then fn as the owner in one transaction.
func (j *journalCLI) tamper(fn func(ctx context.Context, tx pgx.Tx) error, sqls ...string) {
	j.t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, j.owner, func(tx pgx.Tx) error {
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
		j.t.Fatalf("tampering as the owner: %v", err)
	}
}

// resealWith drops every seal and rebuilds the chain signed with key.
func resealWith(key ed25519.PrivateKey) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM seals`); err != nil {
			return err
		}
		for {
			s, err := ledger.Seal(ctx, tx, "demo", farFuture, key)
			if err != nil || !s.Full() {
				return err
			}
		}
	}
}

// recomputeBalances makes the stored balances agree with the entries left.
const recomputeBalances = `UPDATE balances b SET balance = COALESCE((SELECT SUM(amount) FROM entries e WHERE e.account_id = b.account_id), 0),
	entries = (SELECT count(*) FROM entries e WHERE e.account_id = b.account_id)
	WHERE b.shard = (SELECT min(shard) FROM balances c WHERE c.account_id = b.account_id)`

const zeroOtherShards = `UPDATE balances b SET balance = 0, entries = 0
	WHERE b.shard <> (SELECT min(shard) FROM balances c WHERE c.account_id = b.account_id)`

// TestVerifyHeadCatchesSuperuserTampering saves a head with `accrue
// journal head`, tampers as a superuser, and requires `accrue verify
// --head FILE --public-key B64` to fail naming what failed; untampered it
// passes.
func TestVerifyHeadCatchesSuperuserTampering(t *testing.T) {
	for _, c := range headTamperCases() {
		t.Run(c.name, func(t *testing.T) {
			j := newJournalCLI(t)
			c.tamper(j)
			out, err := j.run(j.url, "verify", "--head", j.headFile, "--public-key", j.publicKey())
			if c.want == "" {
				if err != nil || !strings.Contains(out, "ok=true") {
					t.Fatalf("untampered: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, "ok=false") {
				t.Fatalf("verify passed after tampering: %v\n%s", err, out)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("verify output does not name %q:\n%s", c.want, out)
			}
			t.Logf("detected (%v):\n%s", err, out)
			// Trusting the key in the saved head (no --public-key) proves as much.
			if out, err := j.run(j.url, "verify", "--head", j.headFile); err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("verify --head without --public-key: %v, output does not name %q:\n%s", err, c.want, out)
			}
		})
	}
}

// headTamperCase is a superuser's change to a journal whose head was
// saved, and the problem verify must name ("" for none).
type headTamperCase struct {
	name   string
	tamper func(j *journalCLI)
	want   string
}

// headTamperCases are the tamperings TestVerifyHeadCatchesSuperuserTampering
// replays, and the untampered journal.
func headTamperCases() []headTamperCase {
	forger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	return []headTamperCase{
		{"untampered", func(*journalCLI) {}, ""},
		{"last seal block deleted with its transactions", func(j *journalCLI) {
			j.tamper(nil, `DELETE FROM seals WHERE seq = 2`,
				`DELETE FROM entries WHERE transaction_id > (SELECT upto_id FROM seals WHERE seq = 1)`,
				`DELETE FROM transactions WHERE id > (SELECT upto_id FROM seals WHERE seq = 1)`,
				recomputeBalances, zeroOtherShards)
		}, "the journal has no seal 2"},
		{"truncated, then a restarted accrued seals new postings", (*journalCLI).truncateAndReseal, "seal 2 differs from the saved head"},
		{"resealed with another key", func(j *journalCLI) { j.tamper(resealWith(forger)) }, "seal 1: not signed by the trusted key"},
		{"statement rewritten before the head", func(j *journalCLI) {
			j.tamper(nil, `UPDATE statements SET released = released + 100 WHERE released > 0`)
		}, "seal 1: the transactions, accounts or statements it covers do not match the sealed hash"},
		{"statement rewritten before the head and resealed with the signing key", (*journalCLI).rewriteAndResealAsBefore,
			"seal 2 differs from the saved head"},
		{"account flipped to debit-normal before the head", func(j *journalCLI) {
			j.tamper(nil, `UPDATE accounts SET normal_side = 1 WHERE code = 'partner:bob:payable'`)
		}, "seal 1: the transactions, accounts or statements it covers do not match the sealed hash"},
		{"transaction with a valid hash moved before the head", (*journalCLI).moveValidTransactionBeforeHead, "seal 1: covers"},
	}
}

// truncateAndReseal deletes the last transaction and seal 2, then has a
// restarted accrued post and seal a new seal 2.
func (j *journalCLI) truncateAndReseal() {
	j.tamper(nil, `DELETE FROM seals WHERE seq = 2`,
		fmt.Sprintf(`DELETE FROM entries WHERE transaction_id = %d`, j.lastTx),
		fmt.Sprintf(`DELETE FROM transactions WHERE id = %d`, j.lastTx),
		recomputeBalances, zeroOtherShards)
	url := j.serve(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	if out, err := j.run(url, "post", "--key", "after-2", "platform:commission_expense:debit:4.00", "platform:payout_clearing:credit:4.00"); err != nil {
		j.t.Fatalf("post: %v\n%s", err, out)
	}
	j.age()
	out, err := j.run(url, "journal", "head")
	var head accruev1.JournalHead
	if err == nil {
		err = protojson.Unmarshal([]byte(out), &head)
	}
	if err != nil || head.GetSeq() != 2 {
		j.t.Fatalf("the restarted accrued should reseal as seal 2: %v\n%s", err, out)
	}
}

// rewriteAndResealAsBefore rewrites a statement and reseals with the
// signing key as a careful key holder would: the block boundaries kept,
// seal 1 up to the last transaction, seal 2 over it.
func (j *journalCLI) rewriteAndResealAsBefore() {
	j.tamper(func(ctx context.Context, tx pgx.Tx) error {
		var split time.Time
		if err := tx.QueryRow(ctx, `SELECT created_at FROM transactions WHERE id = $1`, j.lastTx).Scan(&split); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM seals`); err != nil {
			return err
		}
		for _, cutoff := range []time.Time{split, farFuture} {
			if _, err := ledger.Seal(ctx, tx, "demo", cutoff.Add(ledger.SealLag), j.key); err != nil {
				return err
			}
		}
		return nil
	}, `UPDATE statements SET released = released + 100 WHERE released > 0`)
}

// moveValidTransactionBeforeHead posts through the API, so the
// transaction's hash is valid, and moves it under the first seal: the
// hash does not cover the id.
func (j *journalCLI) moveValidTransactionBeforeHead() {
	out := j.cli("post", "--key", "forged", "platform:commission_expense:debit:500.00", "partner:bob:payable:credit:500.00")
	var id int64
	if _, err := fmt.Sscanf(out, "transaction %d", &id); err != nil {
		j.t.Fatalf("reading the posted id from %q: %v", out, err)
	}
	j.tamper(nil, `SET LOCAL session_replication_role = replica`,
		fmt.Sprintf(`UPDATE transactions SET id = %d WHERE id = %d`, j.firstTx-1, id),
		fmt.Sprintf(`UPDATE entries SET transaction_id = %d WHERE transaction_id = %d`, j.firstTx-1, id))
}
