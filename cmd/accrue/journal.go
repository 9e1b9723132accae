package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// runMigrate applies the schema migrations with the owner's credentials, so
// accrued itself can run with the application role's alone.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbURL := fs.String("database-url", os.Getenv("ACCRUE_MIGRATE_DATABASE_URL"), "the schema owner's URL (env ACCRUE_MIGRATE_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("migrate: --database-url (the schema owner's) is required")
	}
	if err := database.Migrate(ctx, *dbURL); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.out, "migrated; accrued may now connect as accrue_app")
	return err
}

// runJournal runs `accrue journal head`: the latest signed head as JSON,
// to save outside the database for a later `accrue verify --head`.
func runJournal(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 || args[0] != "head" {
		return errors.New("journal head   print the journal's signed head (JSON)")
	}
	resp, err := c.ledger.GetJournalHead(ctx, connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: c.program}))
	if err != nil {
		return connectMessage(err)
	}
	if resp.Msg.GetHead() == nil {
		return errors.New("journal head: nothing is sealed yet")
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(resp.Msg.GetHead())
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	_, err = fmt.Fprintln(c.out, string(b))
	return err
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
