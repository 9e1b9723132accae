package main

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func (c *cli) partnerReferrals() *cobra.Command {
	cmd := &cobra.Command{Use: "referrals PARTNER", Short: "the referral tree below a partner, breadth first", Args: cobra.ExactArgs(1)}
	depth := cmd.Flags().Int32("depth", 0, "levels down, 1 to 10 (default: 10)")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Referral, string, error) {
			r, err := c.partners.ListReferrals(cmd.Context(), connect.NewRequest(&accruev1.ListReferralsRequest{
				Program: c.program, Partner: args[0], MaxDepth: *depth, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetReferrals(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListReferralsResponse{Referrals: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "DEPTH\tPARTNER\tPARENT\tSTATUS")
			for _, r := range rows {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", r.GetDepth(), r.GetPartner(), r.GetParent(), enumName(r.GetStatus(), "PARTNER_STATUS_"))
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) partnerLink() *cobra.Command {
	req := new(accruev1.GetReferralLinkRequest)
	cmd := &cobra.Command{Use: "link PARTNER --landing URL", Short: "a landing-page link carrying the partner's code", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Landing, "landing", "", "the landing page, an http(s) URL (required)")
	utmFlags(cmd, &req.UtmSource, &req.UtmMedium, &req.UtmCampaign)
	_ = cmd.MarkFlagRequired("landing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req.Program, req.Partner = c.program, args[0]
		resp, err := c.partners.GetReferralLink(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { fmt.Fprintf(w, "%s\tcode %s\n", resp.Msg.GetUrl(), resp.Msg.GetCode()) })
	}
	return cmd
}

// utmFlags adds --utm-source, --utm-medium and --utm-campaign.
func utmFlags(cmd *cobra.Command, source, medium, campaign *string) {
	cmd.Flags().StringVar(source, "utm-source", "", "UTM source")
	cmd.Flags().StringVar(medium, "utm-medium", "", "UTM medium")
	cmd.Flags().StringVar(campaign, "utm-campaign", "", "UTM campaign")
}
