package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(webhookCommands) }

// webhookCommands is `accrue webhook ...`: EventService's endpoints and
// their delivery logs.
func webhookCommands(c *cli) []*cobra.Command {
	cmd := newGroup("webhook", "send the program's events to an HTTP endpoint (Standard Webhooks signatures)", "webhooks")
	cmd.AddCommand(c.webhookCreate(), c.webhookList(), c.webhookUpdate(), c.webhookEnable(false), c.webhookEnable(true),
		c.webhookDelete(), c.webhookDeliveries(), c.webhookRedeliver())
	return []*cobra.Command{cmd}
}

func webhookTable(w *tabwriter.Writer, hooks ...*accruev1.Webhook) {
	fmt.Fprintln(w, "WEBHOOK\tURL\tEVENTS\tDISABLED\tDESCRIPTION")
	for _, h := range hooks {
		types := strings.Join(h.GetEventTypes(), ",")
		if types == "" {
			types = "(all)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\n", h.GetId(), h.GetUrl(), types, h.GetDisabled(), h.GetDescription())
	}
}

func (c *cli) webhookCreate() *cobra.Command {
	cmd := &cobra.Command{Use: "create URL [--type T]", Short: "subscribe an endpoint; prints its signing secret, shown only this once",
		Args: cobra.ExactArgs(1)}
	types := cmd.Flags().StringArray("type", nil, "event type to send, e.g. order.paid (repeatable; default: every type)")
	description := cmd.Flags().String("description", "", "what the endpoint is for")
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.events.CreateWebhook(cmd.Context(), connect.NewRequest(&accruev1.CreateWebhookRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("webhook")), Url: args[0], EventTypes: *types, Description: *description}))
		if err != nil {
			return connectMessage(err)
		}
		err = c.show(r.Msg, func(w *tabwriter.Writer) { webhookTable(w, r.Msg.GetWebhook()) })
		if !c.json {
			c.note("secret %s (verify the webhook-signature header with it; it is not shown again)", r.Msg.GetSecret())
		}
		return err
	}
	return cmd
}

func (c *cli) webhookList() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "list the program's webhook endpoints", Args: cobra.NoArgs}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Webhook, string, error) {
			r, err := c.events.ListWebhooks(cmd.Context(), connect.NewRequest(&accruev1.ListWebhooksRequest{
				Program: c.program, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetWebhooks(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListWebhooksResponse{Webhooks: rows, NextPageToken: next}, func(w *tabwriter.Writer) { webhookTable(w, rows...) })
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) webhookUpdate() *cobra.Command {
	cmd := &cobra.Command{Use: "update WEBHOOK [--url U] [--type T] [--description D]", Short: "change an endpoint's URL, event types or description",
		Args: cobra.ExactArgs(1)}
	url := cmd.Flags().String("url", "", "new URL")
	types := cmd.Flags().StringArray("type", nil, "event types to send from now on (repeatable; replaces the list)")
	allTypes := cmd.Flags().Bool("all-types", false, "send every event type from now on")
	description := cmd.Flags().String("description", "", "new description")
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req := &accruev1.UpdateWebhookRequest{Program: c.program, Webhook: args[0]}
		if cmd.Flags().Changed("url") {
			req.Url = url
		}
		if cmd.Flags().Changed("description") {
			req.Description = description
		}
		if len(*types) > 0 || *allTypes {
			req.EventTypes = &accruev1.EventTypes{Types: *types}
		}
		return c.updateWebhook(cmd, req, *key)
	}
	return cmd
}

// webhookEnable is `webhook disable` (pauses sending; events wait) or,
// with on, `webhook enable` (resumes where it stopped).
func (c *cli) webhookEnable(on bool) *cobra.Command {
	use, short := "disable WEBHOOK", "pause an endpoint: events published meanwhile wait for enable"
	if on {
		use, short = "enable WEBHOOK", "resume a disabled endpoint where it stopped"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		disabled := !on
		return c.updateWebhook(cmd, &accruev1.UpdateWebhookRequest{Program: c.program, Webhook: args[0], Disabled: &disabled}, *key)
	}
	return cmd
}

func (c *cli) updateWebhook(cmd *cobra.Command, req *accruev1.UpdateWebhookRequest, key string) error {
	req.IdempotencyKey = c.idempotencyKey(key, randomKey("webhook"))
	r, err := c.events.UpdateWebhook(cmd.Context(), connect.NewRequest(req))
	if err != nil {
		return connectMessage(err)
	}
	return c.show(r.Msg, func(w *tabwriter.Writer) { webhookTable(w, r.Msg.GetWebhook()) })
}

func (c *cli) webhookDelete() *cobra.Command {
	cmd := &cobra.Command{Use: "delete WEBHOOK", Short: "remove an endpoint and its delivery log", Args: cobra.ExactArgs(1)}
	key := keyFlag(cmd, "derived from the webhook id")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.events.DeleteWebhook(cmd.Context(), connect.NewRequest(&accruev1.DeleteWebhookRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, derivedKey("webhook", args[0], "delete")), Webhook: args[0]}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(r.Msg, func(w *tabwriter.Writer) { fmt.Fprintf(w, "deleted %s\n", args[0]) })
	}
	return cmd
}

func deliveryTable(w *tabwriter.Writer, ds ...*accruev1.Delivery) {
	fmt.Fprintln(w, "DELIVERY\tEVENT\tTYPE\tSEQ\tSTATUS\tATTEMPTS\tLAST\tNEXT\tMANUAL")
	for _, d := range ds {
		last := ""
		if as := d.GetAttempts(); len(as) > 0 {
			a := as[len(as)-1]
			last = fmt.Sprintf("%d %s", a.GetStatusCode(), a.GetError())
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%v\n", d.GetId(), d.GetEventId(), d.GetEventType(), d.GetSeq(), d.GetStatus(),
			len(d.GetAttempts()), strings.TrimSpace(last), stamp(d.GetNextAttemptAt()), d.GetManual())
	}
}

func (c *cli) webhookDeliveries() *cobra.Command {
	cmd := &cobra.Command{Use: "deliveries WEBHOOK", Short: "an endpoint's delivery log with each attempt's answer", Args: cobra.ExactArgs(1)}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Delivery, string, error) {
			r, err := c.events.ListDeliveries(cmd.Context(), connect.NewRequest(&accruev1.ListDeliveriesRequest{
				Program: c.program, Webhook: args[0], PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetDeliveries(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListDeliveriesResponse{Deliveries: rows, NextPageToken: next}, func(w *tabwriter.Writer) { deliveryTable(w, rows...) })
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) webhookRedeliver() *cobra.Command {
	cmd := &cobra.Command{Use: "redeliver WEBHOOK EVENT", Short: "send a published event to an endpoint once more (same webhook-id)",
		Args: cobra.ExactArgs(2)}
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.events.RedeliverEvent(cmd.Context(), connect.NewRequest(&accruev1.RedeliverEventRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("redeliver")), Webhook: args[0], EventId: args[1]}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(r.Msg, func(w *tabwriter.Writer) { deliveryTable(w, r.Msg.GetDelivery()) })
	}
	return cmd
}
