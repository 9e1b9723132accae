package main

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(orderCommands) }

// orderCommands is `accrue order ...`: OrderService, and SimulateOrder.
func orderCommands(c *cli) []*cobra.Command {
	cmd := newGroup("order", "record order events and read orders with their provenance", "orders")
	cmd.AddCommand(c.orderPay(), c.orderComplete(), c.orderRefund(), c.orderAmend(), c.orderCancel(), c.orderGet(), c.orderSimulate())
	return []*cobra.Command{cmd}
}

// orderWrite is what every order write takes: its id, --key and --at.
type orderWrite struct {
	key, at *string
}

// newOrderWrite adds --key (derived from how, a function of the order id)
// and --at to cmd.
func newOrderWrite(cmd *cobra.Command, derivedHow string) orderWrite {
	return orderWrite{key: keyFlag(cmd, derivedHow), at: atFlag(cmd, "when it happened")}
}

func (c *cli) orderPay() *cobra.Command {
	req := new(accruev1.PayOrderRequest)
	cmd := &cobra.Command{Use: "pay ORDER --customer C --line product=amount...", Short: "record a paid order", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Customer, "customer", "", "customer id")
	cmd.Flags().StringVar(&req.Visitor, "visitor", "", "visitor id")
	cmd.Flags().StringVar(&req.PartnerCode, "code", "", "partner code on the order (coupon)")
	cmd.Flags().StringVar(&req.Shipping, "shipping", "", "shipping amount")
	lines, ow := linesFlag(cmd, "a product line"), newOrderWrite(cmd, "derived from the order id")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.Lines, err = parseLines(*lines); err != nil {
			return err
		}
		if req.At, err = parseTime("at", *ow.at); err != nil {
			return err
		}
		req.Program, req.Order = c.program, args[0]
		req.IdempotencyKey = c.idempotencyKey(*ow.key, derivedKey("order", args[0], "paid"))
		resp, err := c.orders.PayOrder(cmd.Context(), connect.NewRequest(req))
		return showOrderWrite(c, resp, err)
	}
	return cmd
}

func (c *cli) orderComplete() *cobra.Command {
	cmd := &cobra.Command{Use: "complete ORDER", Short: "mark a paid order completed", Args: cobra.ExactArgs(1)}
	ow := newOrderWrite(cmd, "derived from the order id")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		at, err := parseTime("at", *ow.at)
		if err != nil {
			return err
		}
		req := &accruev1.CompleteOrderRequest{Program: c.program, Order: args[0], At: at,
			IdempotencyKey: c.idempotencyKey(*ow.key, derivedKey("order", args[0], "completed"))}
		resp, err := c.orders.CompleteOrder(cmd.Context(), connect.NewRequest(req))
		return showOrderWrite(c, resp, err)
	}
	return cmd
}

func (c *cli) orderRefund() *cobra.Command {
	req := new(accruev1.RefundOrderRequest)
	cmd := &cobra.Command{Use: "refund ORDER [--line product=amount...] [--shipping A]", Short: "refund part of an order", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Shipping, "shipping", "", "shipping refunded")
	lines, ow := linesFlag(cmd, "a refunded amount of a product"), newOrderWrite(cmd, "a new one per run: two equal refunds are two refunds")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.Lines, err = parseLines(*lines); err != nil {
			return err
		}
		if req.At, err = parseTime("at", *ow.at); err != nil {
			return err
		}
		req.Program, req.Order = c.program, args[0]
		req.IdempotencyKey = c.idempotencyKey(*ow.key, randomKey("refund"))
		resp, err := c.orders.RefundOrder(cmd.Context(), connect.NewRequest(req))
		return showOrderWrite(c, resp, err)
	}
	return cmd
}

func (c *cli) orderAmend() *cobra.Command {
	req := new(accruev1.AmendOrderRequest)
	cmd := &cobra.Command{Use: "amend ORDER --line product=amount...", Short: "replace an order's lines (shipping unchanged)", Args: cobra.ExactArgs(1)}
	lines, ow := linesFlag(cmd, "a line of the amended order"), newOrderWrite(cmd, "a new one per run")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.Lines, err = parseLines(*lines); err != nil {
			return err
		}
		if req.At, err = parseTime("at", *ow.at); err != nil {
			return err
		}
		req.Program, req.Order = c.program, args[0]
		req.IdempotencyKey = c.idempotencyKey(*ow.key, randomKey("amend"))
		resp, err := c.orders.AmendOrder(cmd.Context(), connect.NewRequest(req))
		return showOrderWrite(c, resp, err)
	}
	return cmd
}

func (c *cli) orderCancel() *cobra.Command {
	cmd := &cobra.Command{Use: "cancel ORDER", Short: "cancel an order, posting back what remains of it", Args: cobra.ExactArgs(1)}
	ow := newOrderWrite(cmd, "derived from the order id")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		at, err := parseTime("at", *ow.at)
		if err != nil {
			return err
		}
		req := &accruev1.CancelOrderRequest{Program: c.program, Order: args[0], At: at,
			IdempotencyKey: c.idempotencyKey(*ow.key, derivedKey("order", args[0], "cancelled"))}
		resp, err := c.orders.CancelOrder(cmd.Context(), connect.NewRequest(req))
		return showOrderWrite(c, resp, err)
	}
	return cmd
}

func (c *cli) orderGet() *cobra.Command {
	cmd := &cobra.Command{Use: "get ORDER", Short: "an order with every amount's rule, rate, tier and rules version", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		resp, err := c.orders.GetOrder(cmd.Context(), connect.NewRequest(&accruev1.GetOrderRequest{Program: c.program, Order: args[0]}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { orderTable(w, resp.Msg.GetOrder()) })
	}
	return cmd
}

func (c *cli) orderSimulate() *cobra.Command {
	req := new(accruev1.SimulateOrderRequest)
	cmd := &cobra.Command{Use: "simulate --line product=amount... [--partner P]", Short: "what an order would earn; posts nothing", Args: cobra.NoArgs}
	cmd.Flags().StringVar(&req.Partner, "partner", "", "the partner it would be attributed to")
	cmd.Flags().StringVar(&req.Shipping, "shipping", "", "shipping amount")
	lines, at := linesFlag(cmd, "a product line"), atFlag(cmd, "when the order would happen")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if req.Lines, err = parseLines(*lines); err != nil {
			return err
		}
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		req.Program = c.program
		resp, err := c.programs.SimulateOrder(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { planTable(w, "simulated", resp.Msg.GetPlan()) })
	}
	return cmd
}

// orderTable shows an order with the provenance of every amount.
// orderWriteResponse is the answer of an order event: the order as it
// left it, and whether it was a replay.
type orderWriteResponse interface {
	proto.Message
	GetOrder() *accruev1.Order
	GetReplayed() bool
}

// showOrderWrite prints an order event's answer (or its error) as every
// order write does: the order's table, marked when replayed.
func showOrderWrite[R any, M interface {
	*R
	orderWriteResponse
}](c *cli, resp *connect.Response[R], err error) error {
	if err != nil {
		return connectMessage(err)
	}
	msg := M(resp.Msg)
	return c.showWrite(msg, msg.GetReplayed(), func(w *tabwriter.Writer) { orderTable(w, msg.GetOrder()) })
}

func orderTable(w *tabwriter.Writer, o *accruev1.Order) {
	fmt.Fprintf(w, "order %s\tcustomer %s\tstatus %s\n", o.GetId(), o.GetCustomer(), enumName(o.GetStatus(), "ORDER_STATUS_"))
	fmt.Fprintf(w, "partner %s\tvia %s\trules v%d\ttier %s\t%s\n", o.GetPartner(), o.GetAttribution(), o.GetRulesVersion(), o.GetTier(), o.GetNoEarnReason())
	for _, ev := range o.GetEvents() {
		planTable(w, fmt.Sprintf("%s\ttransaction %d", ev.GetKind(), ev.GetTransactionId()), ev.GetPlan())
	}
}

// planTable shows a plan's amounts with their rules.
func planTable(w *tabwriter.Writer, title string, p *accruev1.Plan) {
	fmt.Fprintf(w, "%s\tsales %s\tcommission %s\trules v%d\n", title, p.GetSales(), p.GetCommission(), p.GetRulesVersion())
	for _, l := range p.GetLines() {
		fmt.Fprintf(w, "  %s\t%s\tearns %s\tat %s\tby %s\t%s\n", l.GetProduct(), l.GetAmount(), l.GetCommission(), l.GetRate(), l.GetSource(), l.GetNote())
	}
	for _, u := range p.GetUpline() {
		fmt.Fprintf(w, "  level %d\t%s\tearns %s\t%s of %s %s\n", u.GetLevel(), u.GetPartner(), u.GetAmount(), u.GetRate(), u.GetBase(), u.GetBaseAmount())
	}
}
