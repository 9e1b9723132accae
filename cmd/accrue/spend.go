package main

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(spendCommands) }

// spendCommands is `accrue spend SPEND ...` (SpendCredit) and `accrue
// spend reverse SPEND` (ReverseSpend).
func spendCommands(c *cli) []*cobra.Command {
	req := new(accruev1.SpendCreditRequest)
	cmd := &cobra.Command{Use: "spend SPEND --partner P --amount A", Aliases: []string{"spends"},
		Short: "spend a partner's earnings as store credit (spend reverse SPEND returns it)", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Partner, "partner", "", "partner spending its earnings (required)")
	cmd.Flags().StringVar(&req.Amount, "amount", "", "amount to spend (required)")
	cmd.Flags().StringVar(&req.Order, "order", "", "the partner's own order it pays for")
	_ = cmd.MarkFlagRequired("partner")
	_ = cmd.MarkFlagRequired("amount")
	key, at := keyFlag(cmd, "derived from the spend id"), atFlag(cmd, "when it was spent")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		req.Program, req.Spend = c.program, args[0]
		req.IdempotencyKey = c.idempotencyKey(*key, derivedKey("spend", args[0]))
		r, err := c.payouts.SpendCredit(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { spendTable(w, r.Msg.GetSpend()) })
	}
	cmd.AddCommand(c.spendReverse())
	return []*cobra.Command{cmd}
}

func (c *cli) spendReverse() *cobra.Command {
	cmd := &cobra.Command{Use: "reverse SPEND", Short: "return a spend to the accounts it came from (its order was refunded)", Args: cobra.ExactArgs(1)}
	key, at := keyFlag(cmd, "derived from the spend id"), atFlag(cmd, "when it was reversed")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		r, err := c.payouts.ReverseSpend(cmd.Context(), connect.NewRequest(&accruev1.ReverseSpendRequest{Program: c.program, At: ts,
			Spend: args[0], IdempotencyKey: c.idempotencyKey(*key, derivedKey("spend", args[0], "reverse"))}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { spendTable(w, r.Msg.GetSpend()) })
	}
	return cmd
}

func spendTable(w *tabwriter.Writer, sp *accruev1.Spend) {
	fmt.Fprintln(w, "SPEND\tPARTNER\tAMOUNT\tFROM PAYABLE\tFROM ACCRUED\tORDER\tREVERSED")
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%v\n", sp.GetId(), sp.GetPartner(), sp.GetAmount(), sp.GetFromPayable(), sp.GetFromAccrued(),
		sp.GetOrder(), sp.GetReversed())
}
