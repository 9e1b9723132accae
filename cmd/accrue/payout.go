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
	"google.golang.org/protobuf/proto"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// runPayout creates, settles, fails or lists payouts.
func runPayout(ctx context.Context, c *cli, args []string) error {
	if len(args) < 2 {
		return errors.New("payout create|settle|fail ID [flags] | payout list PARTNER")
	}
	verb, id := args[0], args[1]
	fs := flag.NewFlagSet("payout", flag.ContinueOnError)
	partner := fs.String("partner", "", "partner to pay (create)")
	amount := fs.String("amount", "", "amount (create; default: the whole payable balance)")
	advance := fs.Bool("allow-advance", false, "allow more than the payable balance (create)")
	method := fs.String("method", "", "payment method, e.g. bank_transfer (create)")
	reference := fs.String("reference", "", "external reference (create, settle)")
	private := fs.Bool("private", false, "show bank details (list)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	key := derivedKey("payout", id, verb)
	var (
		msg    proto.Message
		payout *accruev1.Payout
	)
	switch verb {
	case "create":
		r, err := c.payouts.CreatePayout(ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: c.program, IdempotencyKey: key,
			Payout: id, Partner: *partner, Amount: *amount, AllowAdvance: *advance, Method: *method, Reference: *reference}))
		if err != nil {
			return connectMessage(err)
		}
		msg, payout = r.Msg, r.Msg.GetPayout()
	case "settle":
		r, err := c.payouts.SettlePayout(ctx, connect.NewRequest(&accruev1.SettlePayoutRequest{Program: c.program, IdempotencyKey: key,
			Payout: id, Reference: *reference}))
		if err != nil {
			return connectMessage(err)
		}
		msg, payout = r.Msg, r.Msg.GetPayout()
	case "fail":
		r, err := c.payouts.FailPayout(ctx, connect.NewRequest(&accruev1.FailPayoutRequest{Program: c.program, IdempotencyKey: key, Payout: id}))
		if err != nil {
			return connectMessage(err)
		}
		msg, payout = r.Msg, r.Msg.GetPayout()
	case "list":
		r, err := c.payouts.ListPayouts(ctx, connect.NewRequest(&accruev1.ListPayoutsRequest{Program: c.program, Partner: id, IncludePrivate: *private}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(r.Msg, func(w *tabwriter.Writer) {
			payoutHeader(w)
			for _, p := range r.Msg.GetPayouts() {
				payoutRow(w, p)
			}
		})
	default:
		return fmt.Errorf("payout %s: unknown verb", verb)
	}
	return c.show(msg, func(w *tabwriter.Writer) {
		payoutHeader(w)
		payoutRow(w, payout)
	})
}

func payoutHeader(w *tabwriter.Writer) {
	fmt.Fprintln(w, "PAYOUT\tPARTNER\tAMOUNT\tSTATUS\tMETHOD\tCREATED\tBANK")
}

func payoutRow(w *tabwriter.Writer, p *accruev1.Payout) {
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.GetId(), p.GetPartner(), p.GetAmount(),
		strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PAYOUT_STATUS_")), p.GetMethod(),
		p.GetCreatedAt().AsTime().Format(time.DateOnly), p.GetBankAccount())
}

// runSpend spends a partner's earnings on its own order.
func runSpend(ctx context.Context, c *cli, args []string) error {
	if len(args) < 1 {
		return errors.New("spend ID --partner P --amount A [--order O]")
	}
	fs := flag.NewFlagSet("spend", flag.ContinueOnError)
	partner := fs.String("partner", "", "partner spending its earnings")
	amount := fs.String("amount", "", "amount to spend")
	order := fs.String("order", "", "the partner's own order it pays for")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	r, err := c.payouts.SpendCredit(ctx, connect.NewRequest(&accruev1.SpendCreditRequest{Program: c.program,
		IdempotencyKey: derivedKey("spend", args[0]), Spend: args[0], Partner: *partner, Amount: *amount, Order: *order}))
	if err != nil {
		return connectMessage(err)
	}
	sp := r.Msg.GetSpend()
	return c.show(r.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "SPEND\tPARTNER\tAMOUNT\tFROM PAYABLE\tFROM ACCRUED\tORDER")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", sp.GetId(), sp.GetPartner(), sp.GetAmount(), sp.GetFromPayable(), sp.GetFromAccrued(), sp.GetOrder())
	})
}
