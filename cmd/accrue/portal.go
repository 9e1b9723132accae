package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(portalCommands) }

// portalCommands are PortalService's: sign-in links, leads and a
// partner's settings (statement --pdf is in statement.go).
func portalCommands(c *cli) []*cobra.Command {
	lead := newGroup("lead", "partner-submitted leads: submit one for a partner, list them", "leads")
	lead.AddCommand(c.leadSubmit(), c.leadList())
	settings := newGroup("settings", "a partner's private contact and bank details, and their history")
	settings.AddCommand(c.settingsUpdate(), c.settingsChanges())
	return []*cobra.Command{c.signInLink(), lead, settings}
}

// writePDF saves a statement's PDF (PortalService/GetStatementPDF) to path.
func (c *cli) writePDF(ctx context.Context, partner, period, path string, private bool) error {
	r, err := c.portal.GetStatementPDF(ctx, connect.NewRequest(&accruev1.GetStatementPDFRequest{
		Program: c.program, Partner: partner, Period: period, IncludePrivate: private}))
	if err != nil {
		return connectMessage(err)
	}
	if err := os.WriteFile(path, r.Msg.GetPdf(), 0o644); err != nil {
		return fmt.Errorf("statement --pdf: %w", err)
	}
	c.note("wrote %s (%d bytes)", path, len(r.Msg.GetPdf()))
	return nil
}

func (c *cli) signInLink() *cobra.Command {
	cmd := &cobra.Command{Use: "signin-link [PARTNER]", Short: "issue a single-use sign-in link to the partner's cabinet (--admin: to the console)",
		Args: cobra.RangeArgs(0, 1)}
	admin := cmd.Flags().Bool("admin", false, "a link to the admin console instead of a partner's cabinet")
	ttl := cmd.Flags().Int32("ttl", 0, "seconds the link is valid, 60 to 86400 (default: the server's, 15 minutes)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req := &accruev1.CreateSignInLinkRequest{Program: c.program, Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, TtlSeconds: *ttl}
		switch {
		case *admin && len(args) == 0:
			req.Role = accruev1.SignInRole_SIGN_IN_ROLE_ADMIN
		case *admin || len(args) == 0:
			return fmt.Errorf("signin-link: name a PARTNER, or give --admin alone")
		default:
			req.Partner = args[0]
		}
		r, err := c.portal.CreateSignInLink(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(r.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, strings.TrimSuffix(c.server, "/")+r.Msg.GetPath())
			fmt.Fprintf(w, "single use, expires %s\n", stamp(r.Msg.GetExpiresAt()))
		})
	}
	return cmd
}

func leadTable(w *tabwriter.Writer, leads ...*accruev1.Lead) {
	fmt.Fprintln(w, "LEAD\tPARTNER\tCODE\tCUSTOMER\tCONTACT\tSUBMITTED\tNOTE")
	for _, l := range leads {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.GetLead(), l.GetPartner(), l.GetPartnerCode(), l.GetCustomerName(),
			l.GetContact(), stamp(l.GetSubmittedAt()), l.GetNote())
	}
}

func (c *cli) leadSubmit() *cobra.Command {
	req := new(accruev1.SubmitLeadRequest)
	cmd := &cobra.Command{Use: "submit PARTNER --customer NAME --contact C", Short: "submit a lead for a partner (emits lead.submitted)",
		Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Lead, "lead", "", "lead id (generated when empty)")
	cmd.Flags().StringVar(&req.CustomerName, "customer", "", "the customer's name (required)")
	cmd.Flags().StringVar(&req.Contact, "contact", "", "how to reach the customer (required)")
	cmd.Flags().StringVar(&req.Note, "note", "", "what the customer wants")
	_ = cmd.MarkFlagRequired("customer")
	_ = cmd.MarkFlagRequired("contact")
	key, at := keyFlag(cmd, "derived from --lead, else random"), atFlag(cmd, "when it was submitted")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		derived := randomKey("lead")
		if req.Lead != "" {
			derived = derivedKey("lead", req.Lead)
		}
		req.Program, req.Partner, req.IdempotencyKey = c.program, args[0], c.idempotencyKey(*key, derived)
		r, err := c.portal.SubmitLead(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { leadTable(w, r.Msg.GetLead()) })
	}
	return cmd
}

func (c *cli) leadList() *cobra.Command {
	cmd := &cobra.Command{Use: "list [--partner P]", Short: "list leads, newest first", Args: cobra.NoArgs}
	partner := cmd.Flags().String("partner", "", "only this partner's")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Lead, string, error) {
			r, err := c.portal.ListLeads(cmd.Context(), connect.NewRequest(&accruev1.ListLeadsRequest{
				Program: c.program, Partner: *partner, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetLeads(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListLeadsResponse{Leads: rows, NextPageToken: next}, func(w *tabwriter.Writer) { leadTable(w, rows...) })
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) settingsUpdate() *cobra.Command {
	cmd := &cobra.Command{Use: "update PARTNER", Short: "replace a partner's four private details (an empty flag clears its detail)",
		Args: cobra.ExactArgs(1)}
	private := privateFlags(cmd)
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.portal.UpdateSettings(cmd.Context(), connect.NewRequest(&accruev1.UpdateSettingsRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("settings")), Partner: args[0], Private: private}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "changed: %s\n", strings.Join(r.Msg.GetChanged(), ", "))
		})
	}
	return cmd
}

func (c *cli) settingsChanges() *cobra.Command {
	cmd := &cobra.Command{Use: "changes PARTNER", Short: "the history of a partner's private details, newest first", Args: cobra.ExactArgs(1)}
	private := cmd.Flags().Bool("private", false, "include the values (admins only)")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.SettingsChange, string, error) {
			r, err := c.portal.ListSettingsChanges(cmd.Context(), connect.NewRequest(&accruev1.ListSettingsChangesRequest{
				Program: c.program, Partner: args[0], IncludePrivate: *private, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetChanges(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListSettingsChangesResponse{Changes: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "AT\tBY\tCHANGED\tNAME\tEMAIL\tBANK ACCOUNT\tBANK")
			for _, ch := range rows {
				pp := ch.GetPrivate()
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(ch.GetAt()), ch.GetBy(), strings.Join(ch.GetChanged(), ","),
					pp.GetName(), pp.GetEmail(), pp.GetBankAccount(), pp.GetBankName())
			}
		})
		c.more(next)
		return err
	}
	return cmd
}
