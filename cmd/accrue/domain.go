package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// derivedKey is the idempotency key of a command that names what it
// creates (a partner, an order payment, a close): running the same command
// again is a safe retry that posts nothing new.
func derivedKey(parts ...string) string {
	return "cli:" + strings.Join(parts, ":")
}

// randomKey is the idempotency key of a command that records an occurrence
// (a click): each run is a new event.
func randomKey(kind string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "cli:" + kind + ":" + hex.EncodeToString(b)
}

func runPartner(ctx context.Context, c *cli, args []string) error {
	if len(args) < 2 {
		return errors.New("partner register|get ID [flags]")
	}
	verb, id := args[0], args[1]
	fs := flag.NewFlagSet("partner", flag.ContinueOnError)
	parent := fs.String("parent", "", "parent partner id")
	code := fs.String("code", "", "referral code (generated when empty)")
	customer := fs.String("customer", "", "the partner's own customer id")
	key := fs.String("key", "", "idempotency key (default: derived from the id)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	switch verb {
	case "register":
		if *key == "" {
			*key = derivedKey("partner", id)
		}
		resp, err := c.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: c.program, IdempotencyKey: *key, Partner: id, Parent: *parent, Code: *code, Customer: *customer}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { partnerTable(w, resp.Msg.GetPartner()) })
	case "get":
		resp, err := c.partners.GetPartner(ctx, connect.NewRequest(&accruev1.GetPartnerRequest{Program: c.program, Partner: id}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { partnerTable(w, resp.Msg.GetPartner()) })
	}
	return fmt.Errorf("partner %s: unknown verb", verb)
}

func partnerTable(w *tabwriter.Writer, p *accruev1.Partner) {
	fmt.Fprintln(w, "PARTNER\tCODE\tPARENT\tSTATUS\tTIER\tVOLUME")
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.GetId(), p.GetCode(), p.GetParent(),
		strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PARTNER_STATUS_")), p.GetTier(), p.GetVolume())
}

func runClick(ctx context.Context, c *cli, args []string) error {
	if len(args) < 2 {
		return errors.New("click CODE VISITOR [flags]")
	}
	fs := flag.NewFlagSet("click", flag.ContinueOnError)
	source := fs.String("utm-source", "", "UTM source")
	medium := fs.String("utm-medium", "", "UTM medium")
	campaign := fs.String("utm-campaign", "", "UTM campaign")
	landing := fs.String("landing", "", "landing page")
	key := fs.String("key", "", "idempotency key (default: a new one, so each run records a click)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *key == "" {
		*key = randomKey("click")
	}
	resp, err := c.tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: c.program, IdempotencyKey: *key,
		Partner: args[0], Visitor: args[1], UtmSource: *source, UtmMedium: *medium, UtmCampaign: *campaign, Landing: *landing}))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "click %d\tpartner %s\treplayed=%v\n", resp.Msg.GetClickId(), resp.Msg.GetPartner(), resp.Msg.GetReplayed())
	})
}

func runOrder(ctx context.Context, c *cli, args []string) error {
	if len(args) < 2 {
		return errors.New("order pay|get ORDER [flags]")
	}
	verb, id := args[0], args[1]
	fs := flag.NewFlagSet("order", flag.ContinueOnError)
	customer := fs.String("customer", "", "customer id")
	visitor := fs.String("visitor", "", "visitor id")
	code := fs.String("code", "", "partner code on the order (coupon)")
	shipping := fs.String("shipping", "", "shipping amount")
	key := fs.String("key", "", "idempotency key")
	var lines multi
	fs.Var(&lines, "line", "product=amount (repeatable)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	switch verb {
	case "pay":
		req := &accruev1.PayOrderRequest{Program: c.program, IdempotencyKey: *key, Order: id, Customer: *customer,
			Visitor: *visitor, PartnerCode: *code, Shipping: *shipping}
		if req.IdempotencyKey == "" {
			req.IdempotencyKey = derivedKey("order", id, "paid")
		}
		for _, l := range lines {
			product, amount, ok := strings.Cut(l, "=")
			if !ok {
				return fmt.Errorf("--line %q: want product=amount", l)
			}
			req.Lines = append(req.Lines, &accruev1.OrderLine{Product: product, Amount: amount})
		}
		resp, err := c.orders.PayOrder(ctx, connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { orderTable(w, resp.Msg.GetOrder()) })
	case "get":
		resp, err := c.orders.GetOrder(ctx, connect.NewRequest(&accruev1.GetOrderRequest{Program: c.program, Order: id}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { orderTable(w, resp.Msg.GetOrder()) })
	}
	return fmt.Errorf("order %s: unknown verb", verb)
}

// orderTable shows an order with the provenance of every amount.
func orderTable(w *tabwriter.Writer, o *accruev1.Order) {
	fmt.Fprintf(w, "order %s\tcustomer %s\tstatus %s\n", o.GetId(), o.GetCustomer(), strings.ToLower(strings.TrimPrefix(o.GetStatus().String(), "ORDER_STATUS_")))
	fmt.Fprintf(w, "partner %s\tvia %s\trules v%d\ttier %s\t%s\n", o.GetPartner(), o.GetAttribution(), o.GetRulesVersion(), o.GetTier(), o.GetNoEarnReason())
	for _, ev := range o.GetEvents() {
		p := ev.GetPlan()
		fmt.Fprintf(w, "%s\tsales %s\tcommission %s\ttransaction %d\n", ev.GetKind(), p.GetSales(), p.GetCommission(), ev.GetTransactionId())
		for _, l := range p.GetLines() {
			fmt.Fprintf(w, "  %s\t%s\tearns %s\tat %s\tby %s\t%s\n", l.GetProduct(), l.GetAmount(), l.GetCommission(), l.GetRate(), l.GetSource(), l.GetNote())
		}
		for _, u := range p.GetUpline() {
			fmt.Fprintf(w, "  level %d\t%s\tearns %s\t%s of %s %s\n", u.GetLevel(), u.GetPartner(), u.GetAmount(), u.GetRate(), u.GetBase(), u.GetBaseAmount())
		}
	}
}

func runClose(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return errors.New("close PERIOD")
	}
	resp, err := c.periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{Program: c.program, IdempotencyKey: derivedKey("close", args[0]), Period: args[0]}))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "period %s\tstatements %d\treleased %s\talready closed=%v\n", resp.Msg.GetPeriod(), resp.Msg.GetStatements(),
			resp.Msg.GetReleased(), resp.Msg.GetAlreadyClosed())
	})
}

func runStatement(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("statement", flag.ContinueOnError)
	csv := fs.Bool("csv", false, "print CSV")
	if len(args) < 2 {
		return errors.New("statement PARTNER PERIOD [--csv]")
	}
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *csv {
		resp, err := c.periods.ExportStatements(ctx, connect.NewRequest(&accruev1.ExportStatementsRequest{Program: c.program, Partner: args[0], Period: args[1]}))
		if err != nil {
			return connectMessage(err)
		}
		_, err = fmt.Fprint(c.out, resp.Msg.GetCsv())
		return err
	}
	resp, err := c.periods.GetStatement(ctx, connect.NewRequest(&accruev1.GetStatementRequest{Program: c.program, Partner: args[0], Period: args[1]}))
	if err != nil {
		return connectMessage(err)
	}
	s := resp.Msg.GetStatement()
	return c.show(resp.Msg, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "statement %s %s\tstatus %s\treleased %s\tdue %s\n", s.GetPartner(), s.GetPeriod(), s.GetStatus(), s.GetReleased(), s.GetDueDate())
		fmt.Fprintln(w, "\tPENDING\tACCRUED\tPAYABLE")
		fmt.Fprintf(w, "opening\t%s\t%s\t%s\n", s.GetOpening().GetPending(), s.GetOpening().GetAccrued(), s.GetOpening().GetPayable())
		fmt.Fprintf(w, "closing\t%s\t%s\t%s\n", s.GetClosing().GetPending(), s.GetClosing().GetAccrued(), s.GetClosing().GetPayable())
		for _, l := range s.GetLines() {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", l.GetAt().AsTime().Format("2006-01-02"), l.GetAccount(), l.GetAmount(), l.GetDescription())
		}
	})
}
