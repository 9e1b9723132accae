package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func parseAsOf(s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--as-of: %w", err)
	}
	return timestamppb.New(t), nil
}

func runPost(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	key := fs.String("key", "", "idempotency key (required)")
	kind := fs.String("kind", "manual", "transaction kind")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := &accruev1.PostTransactionRequest{Program: c.program, IdempotencyKey: *key, Kind: *kind}
	for _, a := range fs.Args() {
		parts := strings.Split(a, ":")
		if len(parts) < 3 {
			return fmt.Errorf("entry %q: want ACCOUNT:debit|credit:AMOUNT", a)
		}
		account, side, amount := strings.Join(parts[:len(parts)-2], ":"), parts[len(parts)-2], parts[len(parts)-1]
		e := &accruev1.EntryInput{Account: account, Amount: amount, Side: accruev1.Side_SIDE_DEBIT}
		if side == "credit" {
			e.Side = accruev1.Side_SIDE_CREDIT
		} else if side != "debit" {
			return fmt.Errorf("entry %q: side is debit or credit", a)
		}
		req.Entries = append(req.Entries, e)
	}
	resp, err := c.ledger.PostTransaction(ctx, connect.NewRequest(req))
	if err != nil {
		return connectMessage(err)
	}
	t := resp.Msg.GetTransaction()
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "transaction %d\t%s\tperiod %s\treplayed=%v\n", t.GetId(), t.GetKind(), t.GetPeriod(), resp.Msg.GetReplayed())
		for _, e := range t.GetEntries() {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", e.GetAccount(), strings.TrimPrefix(e.GetSide().String(), "SIDE_"), e.GetAmount())
		}
	})
}

func runBalance(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("balance", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "balances as of this instant (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := parseAsOf(*asOf)
	if err != nil {
		return err
	}
	resp, err := c.ledger.GetBalances(ctx, connect.NewRequest(&accruev1.GetBalancesRequest{Program: c.program, Accounts: fs.Args(), AsOf: ts}))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ACCOUNT\tBALANCE\tNORMAL SIDE")
		for _, b := range resp.Msg.GetBalances() {
			fmt.Fprintf(w, "%s\t%s\t%s\n", b.GetAccount(), b.GetBalance(), strings.ToLower(strings.TrimPrefix(b.GetNormalSide().String(), "SIDE_")))
		}
	})
}

func runEntries(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return errors.New("entries ACCOUNT")
	}
	resp, err := c.ledger.ListEntries(ctx, connect.NewRequest(&accruev1.ListEntriesRequest{Program: c.program, Account: args[0], PageSize: 1000}))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ENTRY\tTRANSACTION\tAT\tSIDE\tAMOUNT")
		for _, e := range resp.Msg.GetEntries() {
			fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\n", e.GetId(), e.GetTransactionId(), e.GetAt().AsTime().Format(time.RFC3339),
				strings.ToLower(strings.TrimPrefix(e.GetSide().String(), "SIDE_")), e.GetAmount())
		}
	})
}

func runTrialBalance(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("trial-balance", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "as of this instant (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := parseAsOf(*asOf)
	if err != nil {
		return err
	}
	resp, err := c.ledger.GetTrialBalance(ctx, connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: c.program, AsOf: ts}))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ACCOUNT\tBALANCE")
		for _, b := range resp.Msg.GetBalances() {
			fmt.Fprintf(w, "%s\t%s\n", b.GetAccount(), b.GetBalance())
		}
		fmt.Fprintf(w, "debits %s\tcredits %s\ttotal %s\n", resp.Msg.GetTotalDebits(), resp.Msg.GetTotalCredits(), resp.Msg.GetTotal())
	})
}

func runVerify(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	headFile := fs.String("head", "", "a head saved earlier (accrue journal head > FILE): prove the journal still contains it")
	publicKey := fs.String("public-key", "", "the Ed25519 public key you trust, base64 (accrued logs it at start); default: the key in --head, else the server's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req, err := verifyRequest(c.program, *headFile, *publicKey)
	if err != nil {
		return err
	}
	resp, err := c.ledger.VerifyJournal(ctx, connect.NewRequest(req))
	if err != nil {
		return connectMessage(err)
	}
	if err := c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "ok=%v\ttransactions=%d\taccounts=%d\tstatements=%d\tseals=%d\n", resp.Msg.GetOk(), resp.Msg.GetTransactionsChecked(),
			resp.Msg.GetAccountsChecked(), resp.Msg.GetStatementsChecked(), resp.Msg.GetSealsChecked())
		if h := resp.Msg.GetHead(); h != nil {
			fmt.Fprintf(w, "head: seal %d\thash %x\ttransactions %d\n", h.GetSeq(), h.GetHash(), h.GetTransactions())
		}
		for _, p := range resp.Msg.GetProblems() {
			fmt.Fprintln(w, "  "+p)
		}
	}); err != nil {
		return err
	}
	if !resp.Msg.GetOk() {
		return errors.New("the journal did not verify")
	}
	return nil
}
