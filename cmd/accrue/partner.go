package main

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(partnerCommands) }

// partnerCommands is `accrue partner ...`: PartnerService.
func partnerCommands(c *cli) []*cobra.Command {
	cmd := newGroup("partner", "register, change and read partners and their referral trees", "partners")
	cmd.AddCommand(c.partnerRegister(), c.partnerUpdate(), c.partnerStatus("suspend", accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED),
		c.partnerStatus("activate", accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE), c.partnerGet(), c.partnerList(),
		c.partnerReferrals(), c.partnerLink())
	return []*cobra.Command{cmd}
}

// privateFlags adds the partner's contact and bank details.
func privateFlags(cmd *cobra.Command) *accruev1.PartnerPrivate {
	p := new(accruev1.PartnerPrivate)
	cmd.Flags().StringVar(&p.Email, "email", "", "contact e-mail")
	cmd.Flags().StringVar(&p.Name, "name", "", "contact name")
	cmd.Flags().StringVar(&p.BankAccount, "bank-account", "", "bank account (e.g. an IBAN)")
	cmd.Flags().StringVar(&p.BankName, "bank-name", "", "bank name")
	return p
}

func (c *cli) partnerRegister() *cobra.Command {
	req := new(accruev1.RegisterPartnerRequest)
	cmd := &cobra.Command{Use: "register PARTNER", Short: "register a partner", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Parent, "parent", "", "parent partner id")
	cmd.Flags().StringVar(&req.Code, "code", "", "referral code (generated when empty)")
	cmd.Flags().StringVar(&req.Customer, "customer", "", "the partner's own customer id")
	private, key, at := privateFlags(cmd), keyFlag(cmd, "derived from the partner id"), atFlag(cmd, "when it registered")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		req.Program, req.Partner = c.program, args[0]
		if cmd.Flags().Changed("email") || cmd.Flags().Changed("name") || cmd.Flags().Changed("bank-account") || cmd.Flags().Changed("bank-name") {
			req.Private = private
		}
		req.IdempotencyKey = c.idempotencyKey(*key, derivedKey("partner", args[0]))
		resp, err := c.partners.RegisterPartner(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) { partnerTable(w, resp.Msg.GetPartner()) })
	}
	return cmd
}

// updateFlags are partner update's flags and the update_mask path each
// sets.
var updateFlags = []struct{ flag, path string }{
	{"parent", "parent"}, {"detach-parent", "detach_parent"}, {"parent-until", "parent_until"},
	{"email", "private.email"}, {"name", "private.name"}, {"bank-account", "private.bank_account"}, {"bank-name", "private.bank_name"},
}

func (c *cli) partnerUpdate() *cobra.Command {
	req := new(accruev1.UpdatePartnerRequest)
	cmd := &cobra.Command{Use: "update PARTNER", Short: "change a partner's parent link or private details (only the flags given)", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Parent, "parent", "", "a new parent from --at")
	cmd.Flags().BoolVar(&req.DetachParent, "detach-parent", false, "end the current parent link at --at")
	until := cmd.Flags().String("parent-until", "", "when the (new) parent link ends (RFC 3339)")
	private, key, at := privateFlags(cmd), keyFlag(cmd, "a new one per run"), atFlag(cmd, "when the change takes effect")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		if req.ParentUntil, err = parseTime("parent-until", *until); err != nil {
			return err
		}
		req.UpdateMask = &fieldmaskpb.FieldMask{}
		// In a fixed order: a retry with --key must send the same payload.
		for _, f := range updateFlags {
			if cmd.Flags().Changed(f.flag) {
				req.UpdateMask.Paths = append(req.UpdateMask.Paths, f.path)
			}
		}
		if len(req.UpdateMask.Paths) == 0 {
			return fmt.Errorf("partner update: nothing to change; give --parent, --detach-parent, --parent-until or a private detail")
		}
		req.Program, req.Partner, req.Private = c.program, args[0], private
		return c.updatePartner(cmd, req, *key)
	}
	return cmd
}

// partnerStatus is `partner suspend|activate PARTNER`.
func (c *cli) partnerStatus(verb string, status accruev1.PartnerStatus) *cobra.Command {
	cmd := &cobra.Command{Use: verb + " PARTNER", Short: verb + " a partner", Args: cobra.ExactArgs(1)}
	key, at := keyFlag(cmd, "a new one per run"), atFlag(cmd, "when it takes effect")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		return c.updatePartner(cmd, &accruev1.UpdatePartnerRequest{Program: c.program, Partner: args[0], At: ts, Status: status}, *key)
	}
	return cmd
}

// updatePartner sends an UpdatePartner request and shows the partner.
func (c *cli) updatePartner(cmd *cobra.Command, req *accruev1.UpdatePartnerRequest, key string) error {
	req.IdempotencyKey = c.idempotencyKey(key, randomKey("partner-update"))
	resp, err := c.partners.UpdatePartner(cmd.Context(), connect.NewRequest(req))
	if err != nil {
		return connectMessage(err)
	}
	return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) { partnerTable(w, resp.Msg.GetPartner()) })
}

func (c *cli) partnerGet() *cobra.Command {
	cmd := &cobra.Command{Use: "get PARTNER", Short: "read a partner", Args: cobra.ExactArgs(1)}
	private := cmd.Flags().Bool("private", false, "include contact and bank details")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		resp, err := c.partners.GetPartner(cmd.Context(), connect.NewRequest(&accruev1.GetPartnerRequest{
			Program: c.program, Partner: args[0], IncludePrivate: *private}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { partnerTable(w, resp.Msg.GetPartner()) })
	}
	return cmd
}

func (c *cli) partnerList() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "list the program's partners, by id", Args: cobra.NoArgs}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Partner, string, error) {
			r, err := c.partners.ListPartners(cmd.Context(), connect.NewRequest(&accruev1.ListPartnersRequest{
				Program: c.program, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetPartners(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListPartnersResponse{Partners: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			partnerHeader(w)
			for _, p := range rows {
				partnerRow(w, p)
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

func partnerTable(w *tabwriter.Writer, p *accruev1.Partner) {
	partnerHeader(w)
	partnerRow(w, p)
	if pr := p.GetPrivate(); pr.GetEmail()+pr.GetName()+pr.GetBankName()+pr.GetBankAccount() != "" {
		fmt.Fprintf(w, "private\temail %s\tname %s\tbank %s %s\n", pr.GetEmail(), pr.GetName(), pr.GetBankName(), pr.GetBankAccount())
	}
}

func partnerHeader(w *tabwriter.Writer) {
	fmt.Fprintln(w, "PARTNER\tCODE\tPARENT\tSTATUS\tTIER\tVOLUME\tREGISTERED")
}

func partnerRow(w *tabwriter.Writer, p *accruev1.Partner) {
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.GetId(), p.GetCode(), p.GetParent(),
		enumName(p.GetStatus(), "PARTNER_STATUS_"), p.GetTier(), p.GetVolume(), date(p.GetRegisteredAt()))
}
