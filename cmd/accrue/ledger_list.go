package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func (c *cli) ledgerEntries() *cobra.Command {
	cmd := &cobra.Command{Use: "entries ACCOUNT", Short: "an account's entries, oldest first", Args: cobra.ExactArgs(1)}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Entry, string, error) {
			r, err := c.ledger.ListEntries(cmd.Context(), connect.NewRequest(&accruev1.ListEntriesRequest{
				Program: c.program, Account: args[0], PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetEntries(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListEntriesResponse{Entries: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "ENTRY\tTRANSACTION\tAT\tSIDE\tAMOUNT")
			for _, e := range rows {
				fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\n", e.GetId(), e.GetTransactionId(), stamp(e.GetAt()), enumName(e.GetSide(), "SIDE_"), e.GetAmount())
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) ledgerTransaction() *cobra.Command {
	cmd := &cobra.Command{Use: "transaction ID", Short: "one transaction with its entries", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("ID: want a transaction id, got %q", args[0])
		}
		resp, err := c.ledger.GetTransaction(cmd.Context(), connect.NewRequest(&accruev1.GetTransactionRequest{Program: c.program, Id: id}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { transactionTable(w, resp.Msg.GetTransaction(), false) })
	}
	return cmd
}

func (c *cli) ledgerTransactions() *cobra.Command {
	cmd := &cobra.Command{Use: "transactions", Short: "the program's transactions, oldest first", Args: cobra.NoArgs}
	reference := cmd.Flags().String("reference", "", "only those with this reference, key=value (e.g. order=o-9)")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Transaction, string, error) {
			r, err := c.ledger.ListTransactions(cmd.Context(), connect.NewRequest(&accruev1.ListTransactionsRequest{
				Program: c.program, Reference: *reference, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetTransactions(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListTransactionsResponse{Transactions: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "TRANSACTION\tKIND\tPERIOD\tAT\tENTRIES")
			for _, t := range rows {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\n", t.GetId(), t.GetKind(), t.GetPeriod(), stamp(t.GetAt()), len(t.GetEntries()))
			}
		})
		c.more(next)
		return err
	}
	return cmd
}
