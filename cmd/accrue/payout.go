package main

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(payoutCommands) }

// payoutCommands is `accrue payout ...`: PayoutService's payouts.
func payoutCommands(c *cli) []*cobra.Command {
	cmd := newGroup("payout", "pay partners: create, settle or fail payouts, and list them", "payouts")
	cmd.AddCommand(c.payoutCreate(), c.payoutSettle(), c.payoutFail(), c.payoutGet(), c.payoutList(), c.payoutPayAll())
	return []*cobra.Command{cmd}
}

func (c *cli) payoutCreate() *cobra.Command {
	req := new(accruev1.CreatePayoutRequest)
	cmd := &cobra.Command{Use: "create PAYOUT --partner P", Short: "start a payout, by default of the whole payable balance", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Partner, "partner", "", "partner to pay (required)")
	cmd.Flags().StringVar(&req.Amount, "amount", "", "amount (default: the whole payable balance)")
	cmd.Flags().BoolVar(&req.AllowAdvance, "allow-advance", false, "allow more than the payable balance")
	cmd.Flags().StringVar(&req.Method, "method", "", "payment method, e.g. bank_transfer")
	cmd.Flags().StringVar(&req.Reference, "reference", "", "external reference")
	_ = cmd.MarkFlagRequired("partner")
	key, at := keyFlag(cmd, "derived from the payout id"), atFlag(cmd, "when it was created")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		req.Program, req.Payout = c.program, args[0]
		req.IdempotencyKey = c.idempotencyKey(*key, derivedKey("payout", args[0], "create"))
		r, err := c.payouts.CreatePayout(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { payoutTable(w, r.Msg.GetPayout()) })
	}
	return cmd
}

func (c *cli) payoutSettle() *cobra.Command {
	cmd := &cobra.Command{Use: "settle PAYOUT", Short: "record that a pending payout reached the partner", Args: cobra.ExactArgs(1)}
	reference := cmd.Flags().String("reference", "", "the bank's reference")
	key, at := keyFlag(cmd, "derived from the payout id"), atFlag(cmd, "when it settled")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		r, err := c.payouts.SettlePayout(cmd.Context(), connect.NewRequest(&accruev1.SettlePayoutRequest{Program: c.program, At: ts,
			IdempotencyKey: c.idempotencyKey(*key, derivedKey("payout", args[0], "settle")), Payout: args[0], Reference: *reference}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { payoutTable(w, r.Msg.GetPayout()) })
	}
	return cmd
}

func (c *cli) payoutFail() *cobra.Command {
	cmd := &cobra.Command{Use: "fail PAYOUT", Short: "return a pending payout to payable", Args: cobra.ExactArgs(1)}
	reason := cmd.Flags().String("reason", "", "why it failed")
	key, at := keyFlag(cmd, "derived from the payout id"), atFlag(cmd, "when it failed")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		r, err := c.payouts.FailPayout(cmd.Context(), connect.NewRequest(&accruev1.FailPayoutRequest{Program: c.program, At: ts,
			IdempotencyKey: c.idempotencyKey(*key, derivedKey("payout", args[0], "fail")), Payout: args[0], Reason: *reason}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { payoutTable(w, r.Msg.GetPayout()) })
	}
	return cmd
}

func (c *cli) payoutList() *cobra.Command {
	cmd := &cobra.Command{Use: "list [PARTNER]", Short: "list payouts, oldest first (one partner's, or every partner's)", Args: cobra.MaximumNArgs(1)}
	private := cmd.Flags().Bool("private", false, "show bank details")
	partner := cmd.Flags().String("partner", "", "only this partner's (as the PARTNER argument)")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			*partner = args[0]
		}
		rows, next, err := c.listPayouts(cmd, *partner, *private, p)
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListPayoutsResponse{Payouts: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			payoutHeader(w)
			for _, p := range rows {
				payoutRow(w, p)
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

// listPayouts reads payouts through ListPayouts, paged as p says.
func (c *cli) listPayouts(cmd *cobra.Command, partner string, private bool, p *paging) ([]*accruev1.Payout, string, error) {
	return collect(p, func(token string, size int32) ([]*accruev1.Payout, string, error) {
		r, err := c.payouts.ListPayouts(cmd.Context(), connect.NewRequest(&accruev1.ListPayoutsRequest{Program: c.program,
			Partner: partner, IncludePrivate: private, PageToken: token, PageSize: size}))
		if err != nil {
			return nil, "", err
		}
		return r.Msg.GetPayouts(), r.Msg.GetNextPageToken(), nil
	})
}

// payoutGet finds one payout in ListPayouts (the API has no GetPayout):
// --partner narrows the search to that partner's payouts.
func (c *cli) payoutGet() *cobra.Command {
	cmd := &cobra.Command{Use: "get PAYOUT", Short: "one payout (searched in the list; --partner makes it quick)", Args: cobra.ExactArgs(1)}
	private := cmd.Flags().Bool("private", false, "show bank details")
	partner := cmd.Flags().String("partner", "", "the payout's partner")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, _, err := c.listPayouts(cmd, *partner, *private, &paging{all: true})
		if err != nil {
			return err
		}
		for _, p := range rows {
			if p.GetId() == args[0] {
				return c.show(p, func(w *tabwriter.Writer) { payoutTable(w, p) })
			}
		}
		return fmt.Errorf("payout %s: not found", args[0])
	}
	return cmd
}

func payoutTable(w *tabwriter.Writer, p *accruev1.Payout) {
	payoutHeader(w)
	payoutRow(w, p)
}

func payoutHeader(w *tabwriter.Writer) {
	fmt.Fprintln(w, "PAYOUT\tPARTNER\tAMOUNT\tSTATUS\tMETHOD\tREFERENCE\tCREATED\tSETTLED\tBANK")
}

func payoutRow(w *tabwriter.Writer, p *accruev1.Payout) {
	advance := ""
	if p.GetAdvance() {
		advance = " (advance)"
	}
	fmt.Fprintf(w, "%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.GetId(), p.GetPartner(), p.GetAmount(), advance,
		enumName(p.GetStatus(), "PAYOUT_STATUS_"), p.GetMethod(), p.GetReference(), date(p.GetCreatedAt()), date(p.GetSettledAt()),
		p.GetBankName()+" "+p.GetBankAccount())
}
