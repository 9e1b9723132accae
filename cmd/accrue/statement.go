package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/rules"
)

func init() { register(statementCommands) }

// statementCommands is `accrue statement ...`; `statement PARTNER PERIOD
// [--csv]` is the older form of get and export.
func statementCommands(c *cli) []*cobra.Command {
	cmd := c.statementGet("statement PARTNER PERIOD")
	cmd.Aliases = []string{"statements"}
	cmd.Short = "read, list and export partners' statements (statement PARTNER PERIOD is statement get)"
	csv := cmd.Flags().Bool("csv", false, "print the statement as CSV (as statement export)")
	pdf := cmd.Flags().String("pdf", "", "save the statement as a PDF to this file")
	private := cmd.Flags().Bool("private", false, "with --pdf: print the partner's contact name (admins only)")
	get := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *pdf != "" {
			return c.writePDF(cmd.Context(), args[0], args[1], *pdf, *private)
		}
		if *csv {
			return c.exportCSV(cmd.Context(), args[0], args[1], "")
		}
		return get(cmd, args)
	}
	cmd.AddCommand(c.statementGet("get PARTNER PERIOD"), c.statementList(), c.statementExport())
	return []*cobra.Command{cmd}
}

func (c *cli) statementGet(use string) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: "a partner's statement for a period (YYYY-MM)", Args: cobra.ExactArgs(2)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		resp, err := c.periods.GetStatement(cmd.Context(), connect.NewRequest(&accruev1.GetStatementRequest{
			Program: c.program, Partner: args[0], Period: args[1]}))
		if err != nil {
			return connectMessage(err)
		}
		s := resp.Msg.GetStatement()
		terms := c.statementTerms(cmd.Context(), s)
		return c.show(resp.Msg, func(w *tabwriter.Writer) { statementTable(w, s, terms) })
	}
	return cmd
}

// terms are what a statement is read against: the program's currency and
// payout minimum under the rules in force when it was issued.
type terms struct {
	currency string
	minimum  *decimal.Decimal
}

// statementTerms reads the rules in force at s's issue; a reader who may
// not read the rules gets the statement without them.
func (c *cli) statementTerms(ctx context.Context, s *accruev1.Statement) terms {
	resp, err := c.programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: c.program, At: s.GetIssuedAt()}))
	if err != nil {
		return terms{currency: "?"}
	}
	p, err := rules.Parse([]byte(resp.Msg.GetVersion().GetDocument()))
	if err != nil {
		return terms{currency: "?"}
	}
	return terms{currency: p.Currency, minimum: &p.PayoutMinimum}
}

// statementTable shows a statement: its terms, why it is preliminary, the
// four balances at both edges, and its lines.
func statementTable(w *tabwriter.Writer, s *accruev1.Statement, t terms) {
	// Lines without a tab end tabwriter's column blocks: the title, the
	// balances and the lines each align on their own.
	fmt.Fprintf(w, "statement %s %s   status %s   currency %s   released %s   due %s\n", s.GetPartner(), s.GetPeriod(), s.GetStatus(),
		t.currency, s.GetReleased(), s.GetDueDate())
	if s.GetStatus() == "preliminary" {
		fmt.Fprintf(w, "preliminary: %s\n", preliminaryReason(s, t))
	}
	fmt.Fprintln(w, "\tPENDING\tACCRUED\tPAYABLE\tIN PAYOUT")
	for _, b := range []struct {
		edge string
		b    *accruev1.StatementBalances
	}{{"opening", s.GetOpening()}, {"closing", s.GetClosing()}} {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", b.edge, b.b.GetPending(), b.b.GetAccrued(), b.b.GetPayable(), b.b.GetInPayout())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATE\tKIND\tACCOUNT\tAMOUNT\tDESCRIPTION")
	for _, l := range s.GetLines() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", date(l.GetAt()), l.GetKind(), l.GetAccount(), l.GetAmount(), l.GetDescription())
	}
}

// preliminaryReason says why a close released nothing to the partner.
func preliminaryReason(s *accruev1.Statement, t terms) string {
	accrued, err := decimal.NewFromString(s.GetClosing().GetAccrued())
	switch {
	case err != nil || t.minimum == nil:
		return "the close released nothing"
	case !accrued.IsPositive():
		return "nothing accrued to release (accrued " + s.GetClosing().GetAccrued() + ")"
	case accrued.LessThan(*t.minimum):
		return fmt.Sprintf("%s of the %s minimum accrued; released when it is reached", s.GetClosing().GetAccrued(),
			t.minimum.StringFixed(decimals(s.GetClosing().GetAccrued())))
	}
	return "the minimum was reached but nothing was released: a suspended partner gets no release"
}

// decimals counts an amount's digits after the point.
func decimals(amount string) int32 {
	if _, frac, ok := strings.Cut(amount, "."); ok {
		return int32(len(frac))
	}
	return 0
}

func (c *cli) statementList() *cobra.Command {
	req := new(accruev1.ListStatementsRequest)
	cmd := &cobra.Command{Use: "list", Short: "list statements by period, then partner", Args: cobra.NoArgs}
	cmd.Flags().StringVar(&req.Partner, "partner", "", "only this partner's")
	cmd.Flags().StringVar(&req.Period, "period", "", "only this period's (YYYY-MM)")
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req.Program = c.program
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Statement, string, error) {
			req.PageToken, req.PageSize = token, size
			r, err := c.periods.ListStatements(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetStatements(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListStatementsResponse{Statements: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "PERIOD\tPARTNER\tSTATUS\tRELEASED\tDUE\tPENDING\tACCRUED\tPAYABLE\tIN PAYOUT")
			for _, s := range rows {
				b := s.GetClosing()
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.GetPeriod(), s.GetPartner(), s.GetStatus(), s.GetReleased(),
					s.GetDueDate(), b.GetPending(), b.GetAccrued(), b.GetPayable(), b.GetInPayout())
			}
		})
		c.more(next)
		return err
	}
	return cmd
}

func (c *cli) statementExport() *cobra.Command {
	cmd := &cobra.Command{Use: "export [--partner P] [--period YYYY-MM]", Short: "statements as CSV for finance (at most 10,000 a call)", Args: cobra.NoArgs}
	partner := cmd.Flags().String("partner", "", "only this partner's")
	period := cmd.Flags().String("period", "", "only this period's (YYYY-MM)")
	output := cmd.Flags().StringP("output", "o", "", "write the CSV to this file (default: stdout)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return c.exportCSV(cmd.Context(), *partner, *period, *output)
	}
	return cmd
}

// exportCSV writes ExportStatements' CSV to output, or to stdout (the
// response as JSON with --json).
func (c *cli) exportCSV(ctx context.Context, partner, period, output string) error {
	resp, err := c.periods.ExportStatements(ctx, connect.NewRequest(&accruev1.ExportStatementsRequest{Program: c.program, Partner: partner, Period: period}))
	if err != nil {
		return connectMessage(err)
	}
	if c.json {
		return c.show(resp.Msg, nil)
	}
	if output != "" {
		if err := os.WriteFile(output, []byte(resp.Msg.GetCsv()), 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
	_, err = fmt.Fprint(c.out, resp.Msg.GetCsv())
	return err
}
