package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// signedAPI is a Server signing with a key the test holds, behind a real
// HTTP listener, and the schema owner's pool (a superuser on the test
// server) to age rows past ledger.SealLag.
type signedAPI struct {
	db     *txn.DB
	clk    *clock.Sim
	key    ed25519.PrivateKey
	owner  *pgxpool.Pool
	ledger accruev1connect.LedgerServiceClient
}

func newSignedAPI(t *testing.T) *signedAPI {
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
	clk := clock.NewSim(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	srv := New(db, clk, nil)
	srv.UseSigningKey(key)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	programs := accruev1connect.NewProgramServiceClient(hs.Client(), hs.URL)
	if _, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "p", IdempotencyKey: "rules", Document: apiRules})); err != nil {
		t.Fatal(err)
	}
	return &signedAPI{db: db, clk: clk, key: key, owner: owner, ledger: accruev1connect.NewLedgerServiceClient(hs.Client(), hs.URL)}
}

// restart serves the same database from a new Server signing with key, as
// an accrued started again would (it remembers no head), and returns its
// ledger client.
func (a *signedAPI) restart(t *testing.T, key ed25519.PrivateKey) accruev1connect.LedgerServiceClient {
	t.Helper()
	srv := New(a.db, clock.NewSim(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)), nil)
	srv.UseSigningKey(key)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return accruev1connect.NewLedgerServiceClient(hs.Client(), hs.URL)
}

// post posts n transfers with keys prefix0..prefix(n-1).
func (a *signedAPI) post(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := a.ledger.PostTransaction(context.Background(), connect.NewRequest(&accruev1.PostTransactionRequest{
			Program: "p", IdempotencyKey: fmt.Sprint(prefix, i), Kind: "adjustment",
			Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")},
		})); err != nil {
			t.Fatal(err)
		}
	}
}

// age makes every row look written two minutes earlier, past ledger.SealLag
// (which keeps the sealer behind rows still in flight) but well inside
// MissingSealGrace. created_at is in no hash.
func (a *signedAPI) age(t *testing.T) {
	t.Helper()
	for _, table := range []string{"transactions", "accounts", "statements"} {
		if _, err := a.owner.Exec(context.Background(), `UPDATE `+table+` SET created_at = created_at - interval '2 minutes'`); err != nil {
			t.Fatal(err)
		}
	}
}

func (a *signedAPI) head(t *testing.T) *accruev1.JournalHead {
	t.Helper()
	resp, err := a.ledger.GetJournalHead(context.Background(), connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: "p"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.GetHead() == nil {
		t.Fatal("GetJournalHead: no head")
	}
	return resp.Msg.GetHead()
}

func (a *signedAPI) verify(t *testing.T, head *accruev1.JournalHead) *accruev1.VerifyJournalResponse {
	t.Helper()
	resp, err := a.ledger.VerifyJournal(context.Background(), connect.NewRequest(&accruev1.VerifyJournalRequest{
		Program: "p", Head: head, PublicKey: a.key.Public().(ed25519.PublicKey)}))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Msg
}

// auditorMessage rebuilds the signed bytes of a head from its JSON, as an
// auditor with another toolchain would from docs/journal.md: hash in
// lower-case hex, sealed_at in RFC 3339, UTC, with the fraction's trailing
// zeros (and a bare dot) dropped.
func auditorMessage(t *testing.T, head *accruev1.JournalHead) []byte {
	t.Helper()
	js, err := protojson.Marshal(head)
	if err != nil {
		t.Fatal(err)
	}
	var fields struct {
		SealedAt string `json:"sealedAt"`
	}
	if err := json.Unmarshal(js, &fields); err != nil {
		t.Fatal(err)
	}
	sealedAt := fields.SealedAt
	if i := strings.IndexByte(sealedAt, '.'); i >= 0 {
		frac := strings.TrimRight(strings.TrimSuffix(sealedAt[i+1:], "Z"), "0")
		sealedAt = sealedAt[:i]
		if frac != "" {
			sealedAt += "." + frac
		}
		sealedAt += "Z"
	}
	return []byte(fmt.Sprintf("accrue journal head v1\nprogram \"%s\"\nseq %d\nhash %x\nlast_transaction_id %d\ntransactions %d\nsealed_at %s\n",
		head.GetProgram(), head.GetSeq(), head.GetHash(), head.GetLastTransactionId(), head.GetTransactions(), sealedAt))
}

// TestGetJournalHeadIsSignedAndExtends reads the signed head through the
// Connect API, checks its signature with ed25519.Verify over the message
// rebuilt from the documentation and its key against the server's, then
// posts more and requires the new head to extend the saved one.
func TestGetJournalHeadIsSignedAndExtends(t *testing.T) {
	a := newSignedAPI(t)
	pub := a.key.Public().(ed25519.PublicKey)
	a.post(t, "a", 3)
	a.age(t)
	old := a.head(t)
	if !bytes.Equal(old.GetPublicKey(), pub) {
		t.Fatalf("head public key %x, the server's key is %x", old.GetPublicKey(), pub)
	}
	if !ed25519.Verify(pub, auditorMessage(t, old), old.GetSignature()) {
		t.Fatalf("head %v: the signature does not verify over the documented message", old)
	}
	if old.GetProgram() != "p" || old.GetSeq() != 1 || old.GetTransactions() != 3 || len(old.GetHash()) != 32 {
		t.Fatalf("first head %v, want seal 1 of p over 3 transactions", old)
	}
	if r := a.verify(t, old); !r.GetOk() {
		t.Fatalf("verify with the fresh head: %v", r.GetProblems())
	}

	// Nothing new to seal: the same head again.
	if again := a.head(t); again.GetSeq() != old.GetSeq() || !bytes.Equal(again.GetHash(), old.GetHash()) {
		t.Fatalf("head with nothing new %v, want %v", again, old)
	}

	a.post(t, "b", 2)
	a.age(t)
	cur := a.head(t)
	if cur.GetSeq() <= old.GetSeq() || cur.GetTransactions() != 5 || cur.GetLastTransactionId() <= old.GetLastTransactionId() {
		t.Fatalf("head after 2 more postings %v, want a later seal over 5 transactions (old %v)", cur, old)
	}
	if !ed25519.Verify(pub, auditorMessage(t, cur), cur.GetSignature()) {
		t.Fatalf("new head %v: the signature does not verify", cur)
	}
	for name, h := range map[string]*accruev1.JournalHead{"old": old, "new": cur} {
		if r := a.verify(t, h); !r.GetOk() || r.GetHead().GetSeq() != cur.GetSeq() {
			t.Fatalf("verify with the %s head: ok=%v head %v, problems %v", name, r.GetOk(), r.GetHead(), r.GetProblems())
		}
	}

	// A head altered in transit does not verify, nor prove anything.
	forged := proto.Clone(old).(*accruev1.JournalHead)
	forged.Transactions++
	if ed25519.Verify(pub, auditorMessage(t, forged), forged.GetSignature()) {
		t.Fatal("an altered head verified")
	}
	if r := a.verify(t, forged); r.GetOk() {
		t.Fatal("VerifyJournal accepted an altered head")
	}
}

// forgeChain reseals the journal as a superuser with a key of its own, one
// seal longer than the real chain of one seal: seal 1 over the first
// transaction, seal 2 over the rest.
func (a *signedAPI) forgeChain(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	ctx := context.Background()
	_, forger, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := a.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var split time.Time
	if _, err := tx.Exec(ctx, `DELETE FROM seals`); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT max(created_at) FROM transactions`).Scan(&split); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE transactions SET created_at = $1::timestamptz - interval '1 second'
		WHERE id = (SELECT min(id) FROM transactions)`, split); err != nil {
		t.Fatal(err)
	}
	for _, cutoff := range []time.Time{split, split.Add(time.Hour)} {
		if _, err := ledger.Seal(ctx, tx, "p", cutoff.Add(ledger.SealLag), forger); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return forger
}

// wantNotSealing posts and ages a row, then requires GetJournalHead on url
// to refuse (failed_precondition) and no seal to carry the server's key.
func (a *signedAPI) wantNotSealing(t *testing.T, client accruev1connect.LedgerServiceClient) {
	t.Helper()
	ctx := context.Background()
	a.post(t, "b", 1)
	a.age(t)
	_, err := client.GetJournalHead(ctx, connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: "p"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("GetJournalHead on a forged chain: %v, want failed_precondition", err)
	}
	var signedByServer int
	if err := a.owner.QueryRow(ctx, `SELECT count(*) FROM seals WHERE public_key = $1`, []byte(a.key.Public().(ed25519.PublicKey))).Scan(&signedByServer); err != nil {
		t.Fatal(err)
	}
	if signedByServer != 0 {
		t.Fatalf("%d seals on the forged chain signed with the server's key", signedByServer)
	}
}

func (a *signedAPI) sealOnce(t *testing.T) {
	t.Helper()
	a.post(t, "a", 2)
	a.age(t)
	if real := a.head(t); real.GetSeq() != 1 {
		t.Fatalf("head %v, want seal 1", real)
	}
}

// TestVerifyWithAnotherKeyDoesNotAdoptAForgedChain asks VerifyJournal to
// check a forged chain against the forger's key: it is consistent under
// it, but the server must not take the forged head for its own, nor sign
// new seals on top of it.
func TestVerifyWithAnotherKeyDoesNotAdoptAForgedChain(t *testing.T) {
	a := newSignedAPI(t)
	a.sealOnce(t)
	forger := a.forgeChain(t)
	resp, err := a.ledger.VerifyJournal(context.Background(), connect.NewRequest(&accruev1.VerifyJournalRequest{
		Program: "p", PublicKey: forger.Public().(ed25519.PublicKey)}))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Msg.GetOk() || resp.Msg.GetHead().GetSeq() != 2 {
		t.Fatalf("the forged chain under the forger's key: ok=%v head %v %v", resp.Msg.GetOk(), resp.Msg.GetHead(), resp.Msg.GetProblems())
	}
	a.wantNotSealing(t, a.ledger)
}

// TestRestartedServerRefusesToExtendAChainSignedByAnotherKey restarts the
// server (forgetting the heads it signed) on a chain resealed with another
// key, or with another key of its own: it must not sign on top of seals it
// cannot have signed.
func TestRestartedServerRefusesToExtendAChainSignedByAnotherKey(t *testing.T) {
	t.Run("resealed by a forger", func(t *testing.T) {
		a := newSignedAPI(t)
		a.sealOnce(t)
		a.forgeChain(t)
		a.wantNotSealing(t, a.restart(t, a.key))
	})
	t.Run("restarted with another signing key", func(t *testing.T) {
		a := newSignedAPI(t)
		a.sealOnce(t)
		_, other, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		client := a.restart(t, other)
		a.post(t, "b", 1)
		a.age(t)
		_, err = client.GetJournalHead(context.Background(), connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: "p"}))
		if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "signing-key") {
			t.Fatalf("GetJournalHead with another key: %v, want failed_precondition naming the signing key", err)
		}
		// The journal still verifies under the first key (whose server
		// seals the new row now).
		if r := a.verify(t, nil); !r.GetOk() || !bytes.Equal(r.GetHead().GetPublicKey(), a.key.Public().(ed25519.PublicKey)) {
			t.Fatalf("the journal after the refused sealing: ok=%v head %v %v", r.GetOk(), r.GetHead(), r.GetProblems())
		}
	})
}

// TestSealingAndVerifyFollowTheSimulatedClock drives sealing and verify by
// the server's simulated clock alone, months behind the database's, as a
// replay does; no row is aged by hand. Rows stay unsealed until the clock
// is ledger.SealLag past them, a row recorded later stays in the future of
// the cutoff, a row left unsealed past MissingSealGrace of simulated time
// is reported as missing its seal, and once sealed the journal verifies.
func TestSealingAndVerifyFollowTheSimulatedClock(t *testing.T) {
	ctx := context.Background()
	a := newSignedAPI(t)
	a.post(t, "a", 2)
	resp, err := a.ledger.GetJournalHead(ctx, connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: "p"}))
	if err != nil || resp.Msg.GetHead() != nil {
		t.Fatalf("GetJournalHead right after posting: %v %v, want no seal", resp, err)
	}
	a.clk.Set(a.clk.Now().Add(2 * time.Minute))
	a.post(t, "b", 1)
	h := a.head(t)
	if h.GetSeq() != 1 || h.GetTransactions() != 2 || !h.GetSealedAt().AsTime().Equal(a.clk.Now()) {
		t.Fatalf("head two simulated minutes on: %v, want seal 1 over the 2 older transactions, sealed at %v", h, a.clk.Now())
	}
	a.clk.Set(a.clk.Now().Add(ledger.SealLag + service.MissingSealGrace + time.Minute))
	if r := a.verify(t, nil); r.GetOk() || !strings.Contains(strings.Join(r.GetProblems(), "\n"), "1 transactions") {
		t.Fatalf("verify with a row unsealed past the grace: ok=%v %v, want the third transaction missing its seal", r.GetOk(), r.GetProblems())
	}
	if h = a.head(t); h.GetSeq() != 2 || h.GetTransactions() != 3 {
		t.Fatalf("head after sealing: %v, want seal 2 over 3 transactions", h)
	}
	if r := a.verify(t, h); !r.GetOk() {
		t.Fatalf("verify after sealing: %v", r.GetProblems())
	}
}
