package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/migrations"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// buildAccrued builds this command into a temporary directory.
func buildAccrued(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "accrued")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// accruedCommand is accrued with args and the environment of the tests
// minus accrued's own variables, its log going to a file.
func accruedCommand(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ACCRUE_") || strings.HasPrefix(kv, pgtest.EnvDatabaseURL+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	logFile := filepath.Join(t.TempDir(), "accrued.log")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd.Stdout, cmd.Stderr = f, f
	return cmd, logFile
}

// serveAccrued starts accrued with args on a free address, waits until it
// serves and returns its base URL and log file; it is stopped at cleanup,
// or earlier by stop, which must find it exit cleanly.
func serveAccrued(t *testing.T, bin string, args ...string) (url, logFile string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	cmd, logFile := accruedCommand(t, bin, append([]string{"--listen", addr}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			stopAll(t, []*exec.Cmd{cmd})
		}
	}
	t.Cleanup(stop)
	waitServing(t, 0, addr)
	return "http://" + addr, logFile, stop
}

// failAccrued runs accrued with args and requires it to exit non-zero
// within a minute; it returns the log.
func failAccrued(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd, logFile := accruedCommand(t, bin, append([]string{"--listen", freeAddr(t)}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("accrued %s still running after a minute", strings.Join(args, " "))
	}
	out, _ := os.ReadFile(logFile)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("accrued %s: %v, want a non-zero exit\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var loggedKey = regexp.MustCompile(`msg="journal signing key" file=\S+ created=(true|false) public_key="?([A-Za-z0-9+/=]+)"?`)

// loggedSigningKey returns what accrued's log says of its signing key.
func loggedSigningKey(t *testing.T, logFile string) (created bool, publicKey string) {
	t.Helper()
	out, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	m := loggedKey.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no signing key in the log:\n%s", out)
	}
	return string(m[1]) == "true", string(m[2])
}

// filePublicKey reads a PKCS #8 Ed25519 key file as an auditor would and
// returns its public key.
func filePublicKey(t *testing.T, path string) ed25519.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("%s: a %T, not an Ed25519 key", path, key)
	}
	return ed.Public().(ed25519.PublicKey)
}

// TestEmbeddedDefaultCreatesTheSigningKeyOnce starts accrued on its
// embedded database twice: the first start creates the key file beside
// the data dir, mode 0600, the second reuses it (the same public key).
func TestEmbeddedDefaultCreatesTheSigningKeyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and starts an embedded PostgreSQL")
	}
	bin := buildAccrued(t)
	dataDir := t.TempDir()
	// The postgres OS user runs the embedded server when the tests run as
	// root: the way to the data dir must be traversable.
	for _, d := range []string{filepath.Dir(dataDir), dataDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	keyFile := filepath.Join(dataDir, signingKeyFile)
	var keys []string
	for i, wantCreated := range []bool{true, false} {
		_, logFile, stop := serveAccrued(t, bin, "--data-dir", dataDir, "--demo=false")
		stop()
		created, pub := loggedSigningKey(t, logFile)
		if created != wantCreated {
			t.Fatalf("start %d: created=%v, want %v", i+1, created, wantCreated)
		}
		fi, err := os.Stat(keyFile)
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("start %d: %s has mode %v, want 0600", i+1, keyFile, fi.Mode().Perm())
		}
		if want := base64.StdEncoding.EncodeToString(filePublicKey(t, keyFile)); pub != want {
			t.Fatalf("start %d: logged public key %s, the file's is %s", i+1, pub, want)
		}
		keys = append(keys, pub)
	}
	if keys[0] != keys[1] {
		t.Fatalf("the second start signs with %s, the first with %s", keys[1], keys[0])
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pg", signingKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a signing key inside the data dir: %v", err)
	}
}

// TestAccruedRefusesABadSigningKey starts accrued with a signing key file
// it cannot use, or none with an external database: it must exit at once
// saying why, and leave the file as it was.
func TestAccruedRefusesABadSigningKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildAccrued(t)
	url := pgtest.DatabaseURL(t)
	dir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"garbled.pem": []byte("this is not a key\n"),
		"empty.pem":   {},
		"ecdsa.pem":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"broken.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"garbled", []string{"--signing-key", filepath.Join(dir, "garbled.pem")}, "garbled.pem: not a PEM PRIVATE KEY"},
		{"empty", []string{"--signing-key", filepath.Join(dir, "empty.pem")}, "empty.pem: not a PEM PRIVATE KEY"},
		{"not Ed25519", []string{"--signing-key", filepath.Join(dir, "ecdsa.pem")}, "ecdsa.pem: not an Ed25519 key"},
		{"broken PKCS #8", []string{"--signing-key", filepath.Join(dir, "broken.pem")}, "signing key " + filepath.Join(dir, "broken.pem")},
		{"unreadable", []string{"--signing-key", filepath.Join(dir, "a-directory")}, "is a directory"},
		{"missing with an external database", nil, "--signing-key FILE is required with --database-url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := failAccrued(t, bin, append([]string{"--database-url", url}, c.args...)...)
			if !strings.Contains(out, "accrued stopped") || !strings.Contains(out, c.want) {
				t.Fatalf("the log does not say %q:\n%s", c.want, out)
			}
		})
	}
	for name, b := range files {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s changed: %q (%v)", name, got, err)
		}
	}
}

// TestAccruedConnectsAsTheAppRoleAndSignsWithItsKeyFile starts accrued
// with the owner's URL alone and a new key file: its connections
// (application_name accrued) must log in as accrue_app, no superuser and
// no member of the schema owner, and the head GetJournalHead returns must
// carry the key file's public key and verify with it.
func TestAccruedConnectsAsTheAppRoleAndSignsWithItsKeyFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	ctx := context.Background()
	bin := buildAccrued(t)
	url := pgtest.DatabaseURL(t)
	keyFile := filepath.Join(t.TempDir(), "keys", "journal.pem")
	base, logFile, _ := serveAccrued(t, bin, "--database-url", url, "--signing-key", keyFile)
	if created, _ := loggedSigningKey(t, logFile); !created {
		t.Fatal("the key file was not created")
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}

	programs := accruev1connect.NewProgramServiceClient(http.DefaultClient, base)
	ledgerc := accruev1connect.NewLedgerServiceClient(http.DefaultClient, base)
	if _, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "shop", IdempotencyKey: "rules", Document: twoProcessRules})); err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerc.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{Program: "shop", IdempotencyKey: "t1", Kind: "adjustment",
		Entries: []*accruev1.EntryInput{
			{Account: "platform:commission_expense", Side: accruev1.Side_SIDE_DEBIT, Amount: "5.00"},
			{Account: "platform:payout_clearing", Side: accruev1.Side_SIDE_CREDIT, Amount: "5.00"},
		}})); err != nil {
		t.Fatal(err)
	}

	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	checkAppRoleConnections(ctx, t, owner)

	// Age the rows past ledger.SealLag (created_at is in no hash), then
	// read the signed head.
	for _, table := range []string{"transactions", "accounts"} {
		if _, err := owner.Exec(ctx, `UPDATE `+table+` SET created_at = created_at - interval '2 minutes'`); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := ledgerc.GetJournalHead(ctx, connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: "shop"}))
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Msg.GetHead()
	pub := filePublicKey(t, keyFile)
	if h == nil || !bytes.Equal(h.GetPublicKey(), pub) {
		t.Fatalf("head %v, want one with the key file's public key %x", h, pub)
	}
	msg := ledger.Head{Program: h.GetProgram(), Seq: h.GetSeq(), Hash: h.GetHash(), LastTransactionID: h.GetLastTransactionId(),
		Transactions: h.GetTransactions(), SealedAt: h.GetSealedAt().AsTime()}.Message()
	if !ed25519.Verify(pub, msg, h.GetSignature()) {
		t.Fatalf("head %v does not verify with the key file's public key", h)
	}
}

// checkAppRoleConnections: every connection of accrued (application_name
// accrued) is the application role's, no superuser and no member of the
// schema owner.
func checkAppRoleConnections(ctx context.Context, t *testing.T, owner *pgx.Conn) {
	rows, err := owner.Query(ctx, `SELECT a.usename, r.rolsuper,
			pg_has_role(a.usename, (SELECT tableowner FROM pg_tables WHERE tablename = 'transactions' AND schemaname = 'public'), 'MEMBER')
		FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
		WHERE a.datname = current_database() AND a.application_name = 'accrued'`)
	if err != nil {
		t.Fatal(err)
	}
	type conn struct {
		user          string
		super, member bool
	}
	conns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (c conn, err error) {
		return c, r.Scan(&c.user, &c.super, &c.member)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) == 0 {
		t.Fatal("no connection of accrued in pg_stat_activity")
	}
	for _, c := range conns {
		if c.user != migrations.AppRole || c.super || c.member {
			t.Fatalf("accrued connected as %+v, want %s, no superuser, no member of the owner", c, migrations.AppRole)
		}
	}
}
