package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(ledgerCommands) }

// ledgerCommands is `accrue ledger ...` (LedgerService), and the older
// top-level post, balance, entries and trial-balance.
func ledgerCommands(c *cli) []*cobra.Command {
	cmd := newGroup("ledger", "the journal: post, reverse, balances, entries, transactions, trial balance, verify, head")
	cmd.AddCommand(c.ledgerPost(), c.ledgerReverse(), c.ledgerBalances("balances [ACCOUNT...]"), c.ledgerEntries(),
		c.ledgerTrialBalance(), c.ledgerTransaction(), c.ledgerTransactions(), c.ledgerOpenAccount(), c.ledgerVerify(), c.journalHead())
	return []*cobra.Command{c.ledgerPost(), c.ledgerBalances("balance [ACCOUNT...]"), c.ledgerEntries(), c.ledgerTrialBalance(), cmd}
}

func (c *cli) ledgerPost() *cobra.Command {
	req := new(accruev1.PostTransactionRequest)
	cmd := &cobra.Command{Use: "post --key K ACCOUNT:debit|credit:AMOUNT...", Short: "post a balanced transaction", Args: cobra.MinimumNArgs(2)}
	cmd.Flags().StringVar(&req.IdempotencyKey, "key", "", "idempotency key (required: a raw posting names its own)")
	cmd.Flags().StringVar(&req.Kind, "kind", "manual", "transaction kind")
	cmd.Flags().StringToStringVar(&req.References, "reference", nil, "a reference, key=value (repeatable)")
	cmd.Flags().StringToStringVar(&req.Metadata, "metadata", nil, "a metadata entry, key=value (repeatable)")
	at := atFlag(cmd, "when it happened")
	_ = cmd.MarkFlagRequired("key")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		if req.Entries, err = parseEntries(args); err != nil {
			return err
		}
		req.Program = c.program
		resp, err := c.ledger.PostTransaction(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) { transactionTable(w, resp.Msg.GetTransaction(), resp.Msg.GetReplayed()) })
	}
	return cmd
}

// parseEntries reads ACCOUNT:debit|credit:AMOUNT arguments (the account
// code may itself hold colons).
func parseEntries(args []string) ([]*accruev1.EntryInput, error) {
	entries := make([]*accruev1.EntryInput, 0, len(args))
	for _, a := range args {
		parts := strings.Split(a, ":")
		if len(parts) < 3 {
			return nil, fmt.Errorf("entry %q: want ACCOUNT:debit|credit:AMOUNT", a)
		}
		account, side, amount := strings.Join(parts[:len(parts)-2], ":"), parts[len(parts)-2], parts[len(parts)-1]
		e := &accruev1.EntryInput{Account: account, Amount: amount, Side: accruev1.Side_SIDE_DEBIT}
		switch side {
		case "credit":
			e.Side = accruev1.Side_SIDE_CREDIT
		case "debit":
		default:
			return nil, fmt.Errorf("entry %q: side is debit or credit", a)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// transactionTable shows a transaction and its entries.
func transactionTable(w *tabwriter.Writer, t *accruev1.Transaction, replayed bool) {
	fmt.Fprintf(w, "transaction %d\t%s\tperiod %s\tat %s\treplayed=%v\n", t.GetId(), t.GetKind(), t.GetPeriod(), stamp(t.GetAt()), replayed)
	for _, k := range sortedKeys(t.GetReferences()) {
		fmt.Fprintf(w, "  reference\t%s=%s\n", k, t.GetReferences()[k])
	}
	for _, e := range t.GetEntries() {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", e.GetAccount(), strings.TrimPrefix(e.GetSide().String(), "SIDE_"), e.GetAmount())
	}
}

func (c *cli) ledgerReverse() *cobra.Command {
	cmd := &cobra.Command{Use: "reverse TRANSACTION", Short: "post the mirror of a raw transaction (the original stays)", Args: cobra.ExactArgs(1)}
	reason := cmd.Flags().String("reason", "", "why")
	key, at := keyFlag(cmd, "derived from the transaction id"), atFlag(cmd, "when it is reversed")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("TRANSACTION: want a transaction id, got %q", args[0])
		}
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		resp, err := c.ledger.ReverseTransaction(cmd.Context(), connect.NewRequest(&accruev1.ReverseTransactionRequest{Program: c.program,
			TransactionId: id, At: ts, Reason: *reason, IdempotencyKey: c.idempotencyKey(*key, derivedKey("reverse", args[0]))}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) { transactionTable(w, resp.Msg.GetTransaction(), resp.Msg.GetReplayed()) })
	}
	return cmd
}

func (c *cli) ledgerBalances(use string) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: "balances on each account's normal side (every account when none is named)"}
	asOf := cmd.Flags().String("as-of", "", "balances as of this instant (RFC 3339)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ts, err := parseTime("as-of", *asOf)
		if err != nil {
			return err
		}
		resp, err := c.ledger.GetBalances(cmd.Context(), connect.NewRequest(&accruev1.GetBalancesRequest{Program: c.program, Accounts: args, AsOf: ts}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "ACCOUNT\tBALANCE\tNORMAL SIDE")
			for _, b := range resp.Msg.GetBalances() {
				fmt.Fprintf(w, "%s\t%s\t%s\n", b.GetAccount(), b.GetBalance(), enumName(b.GetNormalSide(), "SIDE_"))
			}
		})
	}
	return cmd
}

func (c *cli) ledgerTrialBalance() *cobra.Command {
	cmd := &cobra.Command{Use: "trial-balance", Short: "every balance and the debit and credit totals", Args: cobra.NoArgs}
	asOf := cmd.Flags().String("as-of", "", "as of this instant (RFC 3339)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ts, err := parseTime("as-of", *asOf)
		if err != nil {
			return err
		}
		resp, err := c.ledger.GetTrialBalance(cmd.Context(), connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: c.program, AsOf: ts}))
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
	return cmd
}

func (c *cli) ledgerOpenAccount() *cobra.Command {
	cmd := &cobra.Command{Use: "open-account CODE --side debit|credit", Short: "open an account of your own, e.g. bank:main", Args: cobra.ExactArgs(1)}
	side := cmd.Flags().String("side", "", "the account's normal side: debit or credit (required)")
	_ = cmd.MarkFlagRequired("side")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		normal, ok := map[string]accruev1.Side{"debit": accruev1.Side_SIDE_DEBIT, "credit": accruev1.Side_SIDE_CREDIT}[*side]
		if !ok {
			return fmt.Errorf("--side: want debit or credit, got %q", *side)
		}
		resp, err := c.ledger.OpenAccount(cmd.Context(), connect.NewRequest(&accruev1.OpenAccountRequest{Program: c.program, Code: args[0], NormalSide: normal}))
		if err != nil {
			return connectMessage(err)
		}
		a := resp.Msg.GetAccount()
		return c.show(resp.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "account %s\tnormal side %s\tcurrency %s\n", a.GetCode(), enumName(a.GetNormalSide(), "SIDE_"), a.GetCurrency())
		})
	}
	return cmd
}
