package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(journalCommands) }

// journalCommands are `accrue verify`, `accrue journal head` and `accrue
// migrate`.
func journalCommands(c *cli) []*cobra.Command {
	journal := newGroup("journal", "the journal's signed head")
	journal.AddCommand(c.journalHead())
	return []*cobra.Command{c.ledgerVerify(), journal, c.migrate()}
}

// migrate applies the schema migrations with the owner's credentials, so
// accrued itself can run with the application role's alone.
func (c *cli) migrate() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate --database-url OWNER_URL", Short: "apply the schema migrations as the schema owner", Args: cobra.NoArgs}
	dbURL := cmd.Flags().String("database-url", os.Getenv("ACCRUE_MIGRATE_DATABASE_URL"), "the schema owner's URL (env ACCRUE_MIGRATE_DATABASE_URL)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *dbURL == "" {
			return errors.New("migrate: --database-url (the schema owner's) is required")
		}
		if err := database.Migrate(cmd.Context(), *dbURL); err != nil {
			return err
		}
		_, err := fmt.Fprintln(c.out, "migrated; accrued may now connect as accrue_app")
		return err
	}
	return cmd
}

// journalHead is `accrue journal head`: the latest signed head as JSON,
// to save outside the database for a later `accrue verify --head`.
func (c *cli) journalHead() *cobra.Command {
	cmd := &cobra.Command{Use: "head", Short: "print the journal's latest signed head (JSON), to save for verify --head", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		resp, err := c.ledger.GetJournalHead(cmd.Context(), connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: c.program}))
		if err != nil {
			return connectMessage(err)
		}
		if resp.Msg.GetHead() == nil {
			return errors.New("journal head: nothing is sealed yet")
		}
		return c.show(resp.Msg.GetHead(), nil)
	}
	return cmd
}

func (c *cli) ledgerVerify() *cobra.Command {
	cmd := &cobra.Command{Use: "verify [--head FILE]", Short: "check the hash chain, seal signatures and stored balances; with --head, that the journal still contains that head",
		Args: cobra.NoArgs}
	headFile := cmd.Flags().String("head", "", "a head saved earlier (accrue journal head > FILE): prove the journal still contains it")
	publicKey := cmd.Flags().String("public-key", "", "the Ed25519 public key you trust, base64 (accrued logs it at start); default: the key in --head, else the server's")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req, err := verifyRequest(c.program, *headFile, *publicKey)
		if err != nil {
			return err
		}
		resp, err := c.ledger.VerifyJournal(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		if err := c.show(resp.Msg, func(w *tabwriter.Writer) { verifyTable(w, resp.Msg) }); err != nil {
			return err
		}
		if !resp.Msg.GetOk() {
			return errors.New("the journal did not verify")
		}
		return nil
	}
	return cmd
}

func verifyTable(w *tabwriter.Writer, v *accruev1.VerifyJournalResponse) {
	fmt.Fprintf(w, "ok=%v\ttransactions=%d\taccounts=%d\tstatements=%d\tseals=%d\n", v.GetOk(), v.GetTransactionsChecked(),
		v.GetAccountsChecked(), v.GetStatementsChecked(), v.GetSealsChecked())
	if h := v.GetHead(); h != nil {
		fmt.Fprintf(w, "head: seal %d\thash %x\ttransactions %d\n", h.GetSeq(), h.GetHash(), h.GetTransactions())
	}
	for _, p := range v.GetProblems() {
		fmt.Fprintln(w, "  "+p)
	}
}

// verifyRequest builds VerifyJournal's request from the flags. The saved
// head's signature is checked here too, so a server that answers ok for a
// head it could not have signed is caught by the client.
func verifyRequest(program, headFile, publicKey string) (*accruev1.VerifyJournalRequest, error) {
	req := &accruev1.VerifyJournalRequest{Program: program}
	if publicKey != "" {
		k, err := base64.StdEncoding.DecodeString(publicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("--public-key: want the base64 of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
		}
		req.PublicKey = k
	}
	if headFile == "" {
		return req, nil
	}
	head, err := readHead(headFile)
	if err != nil {
		return nil, err
	}
	if req.PublicKey == nil {
		req.PublicKey = head.GetPublicKey()
	}
	h := ledger.Head{
		Program: head.GetProgram(), Seq: head.GetSeq(), Hash: head.GetHash(), LastTransactionID: head.GetLastTransactionId(),
		Transactions: head.GetTransactions(), SealedAt: head.GetSealedAt().AsTime(), PublicKey: head.GetPublicKey(), Signature: head.GetSignature(),
	}
	if !h.SignedBy(req.PublicKey) {
		return nil, fmt.Errorf("--head %s: its signature does not verify with the trusted public key", headFile)
	}
	req.Head = head
	return req, nil
}

// readHead reads a head saved by `accrue journal head` or GetJournalHead's
// JSON response ({"head": {...}}).
func readHead(path string) (*accruev1.JournalHead, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--head: %w", err)
	}
	var resp accruev1.GetJournalHeadResponse
	if err := protojson.Unmarshal(b, &resp); err == nil && resp.GetHead() != nil {
		return resp.GetHead(), nil
	}
	head := new(accruev1.JournalHead)
	if err := protojson.Unmarshal(b, head); err != nil {
		return nil, fmt.Errorf("--head %s: not a journal head: %w", path, err)
	}
	if head.GetSeq() == 0 {
		return nil, fmt.Errorf("--head %s: not a journal head (no seq)", path)
	}
	return head, nil
}
