package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// payAllResult is one partner's outcome of `payout pay-all`.
type payAllResult struct {
	partner, payable string
	payout           *accruev1.Payout
	replayed         bool
	err              error
}

// payoutPayAll pays every partner with a positive payable balance its
// whole balance, one CreatePayout each under the id BATCH-<partner> (so a
// rerun of the same batch is a safe retry).
func (c *cli) payoutPayAll() *cobra.Command {
	cmd := &cobra.Command{Use: "pay-all BATCH", Short: "pay every partner with a payable balance (payout ids BATCH-<partner>)", Args: cobra.ExactArgs(1)}
	method := cmd.Flags().String("method", "", "payment method, e.g. bank_transfer")
	dryRun := cmd.Flags().Bool("dry-run", false, "list who would be paid; create nothing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		payable, err := c.payableBalances(cmd)
		if err != nil {
			return err
		}
		results, failed := make([]payAllResult, 0, len(payable)), 0
		for _, b := range payable {
			res := payAllResult{partner: b.partner, payable: b.balance}
			if !*dryRun {
				id := args[0] + "-" + b.partner
				var r *connect.Response[accruev1.CreatePayoutResponse]
				r, res.err = c.payouts.CreatePayout(cmd.Context(), connect.NewRequest(&accruev1.CreatePayoutRequest{Program: c.program,
					IdempotencyKey: derivedKey("payout", id, "create"), Payout: id, Partner: b.partner, Method: *method}))
				if res.err == nil {
					res.payout, res.replayed = r.Msg.GetPayout(), r.Msg.GetReplayed()
				} else {
					failed++
				}
			}
			results = append(results, res)
		}
		c.payAllTable(results)
		if failed > 0 {
			return fmt.Errorf("pay-all: %d of %d payouts refused", failed, len(results))
		}
		return nil
	}
	return cmd
}

// partnerBalance is a partner's balance on one of its accounts.
type partnerBalance struct{ partner, balance string }

// payableBalances reads every account's balance once and keeps the
// positive partner:<id>:payable ones.
func (c *cli) payableBalances(cmd *cobra.Command) ([]partnerBalance, error) {
	resp, err := c.ledger.GetBalances(cmd.Context(), connect.NewRequest(&accruev1.GetBalancesRequest{Program: c.program}))
	if err != nil {
		return nil, connectMessage(err)
	}
	var out []partnerBalance
	for _, b := range resp.Msg.GetBalances() {
		rest, ok := strings.CutPrefix(b.GetAccount(), "partner:")
		partner, found := strings.CutSuffix(rest, ":payable")
		if !ok || !found {
			continue
		}
		if amount, err := decimal.NewFromString(b.GetBalance()); err == nil && amount.IsPositive() {
			out = append(out, partnerBalance{partner: partner, balance: b.GetBalance()})
		}
	}
	return out, nil
}

// payAllTable prints pay-all's outcome, one row per partner (on stderr
// with --json, which prints the payouts created).
func (c *cli) payAllTable(results []payAllResult) {
	if c.json {
		created := new(accruev1.ListPayoutsResponse)
		for _, r := range results {
			if r.payout != nil {
				created.Payouts = append(created.Payouts, r.payout)
			}
		}
		_ = c.show(created, nil)
	}
	out := c.out
	if c.json {
		out = c.errOut
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTNER\tPAYABLE\tPAYOUT\tAMOUNT\tRESULT")
	for _, r := range results {
		result := "would be paid"
		switch {
		case r.err != nil:
			result = "refused: " + connectMessage(r.err).Error()
		case r.replayed:
			result = "replayed (created before)"
		case r.payout != nil:
			result = "created"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.partner, r.payable, r.payout.GetId(), r.payout.GetAmount(), result)
	}
	_ = w.Flush()
}
