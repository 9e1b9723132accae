package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/rules"
)

func init() { register(rulesCommands) }

// rulesCommands is `accrue rules ...`: the program's versioned rules.
func rulesCommands(c *cli) []*cobra.Command {
	cmd := newGroup("rules", "store, read and check the program's rules document")
	cmd.AddCommand(c.rulesPut(), c.rulesGet(), c.rulesVersions(), c.rulesValidate())
	return []*cobra.Command{cmd}
}

// readDocument reads a rules document from a file, or stdin for "-",
// refusing one over the API's limit before sending it.
func readDocument(path string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = readAllLimited(os.Stdin, rules.DocumentSizeMax)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the rules document: %w", err)
	}
	return b, nil
}

func (c *cli) rulesPut() *cobra.Command {
	cmd := &cobra.Command{Use: "put FILE", Short: "store FILE (YAML or JSON; - for stdin) as the next rules version", Args: cobra.ExactArgs(1)}
	key, at := keyFlag(cmd, "a new one per run"), atFlag(cmd, "when the version takes effect")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, err := readDocument(args[0])
		if err != nil {
			return err
		}
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		resp, err := c.programs.PutRules(cmd.Context(), connect.NewRequest(&accruev1.PutRulesRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("rules")), At: ts, Document: string(doc)}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) { versionRow(w, resp.Msg.GetVersion()) })
	}
	return cmd
}

func (c *cli) rulesGet() *cobra.Command {
	cmd := &cobra.Command{Use: "get", Short: "print the rules document in force (or --version N, or --at T)", Args: cobra.NoArgs}
	version := cmd.Flags().Int32("version", 0, "this version number")
	at := cmd.Flags().String("at", "", "the version in force at this instant (RFC 3339)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ts, err := parseTime("at", *at)
		if err != nil {
			return err
		}
		resp, err := c.programs.GetRules(cmd.Context(), connect.NewRequest(&accruev1.GetRulesRequest{Program: c.program, Version: *version, At: ts}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) {
			v := resp.Msg.GetVersion()
			fmt.Fprintf(w, "# version %d, effective %s\n%s", v.GetVersion(), stamp(v.GetEffectiveAt()), v.GetDocument())
		})
	}
	return cmd
}

func (c *cli) rulesVersions() *cobra.Command {
	cmd := &cobra.Command{Use: "versions", Short: "list every rules version", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		resp, err := c.programs.ListRuleVersions(cmd.Context(), connect.NewRequest(&accruev1.ListRuleVersionsRequest{Program: c.program}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "VERSION\tEFFECTIVE\tBYTES")
			for _, v := range resp.Msg.GetVersions() {
				versionRow(w, v)
			}
		})
	}
	return cmd
}

// rulesValidate checks a document with the server (ProgramService/
// ValidateRules): every fault with its path and line, nothing saved.
func (c *cli) rulesValidate() *cobra.Command {
	cmd := &cobra.Command{Use: "validate FILE", Short: "check a rules document (- for stdin) on the server without saving it", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, err := readDocument(args[0])
		if err != nil {
			return err
		}
		resp, err := c.programs.ValidateRules(cmd.Context(), connect.NewRequest(&accruev1.ValidateRulesRequest{Program: c.program, Document: string(doc)}))
		if err != nil {
			return connectMessage(err)
		}
		res := resp.Msg
		if !res.GetOk() {
			msgs := make([]error, 0, len(res.GetFaults()))
			for _, f := range res.GetFaults() {
				msgs = append(msgs, fmt.Errorf("  line %d: %s: %s", f.GetLine(), f.GetPath(), f.GetReason()))
			}
			return fmt.Errorf("%s is not a valid rules document:\n%w", args[0], errors.Join(msgs...))
		}
		t := res.GetTerms()
		return c.show(res, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "%s is valid: currency %s, time zone %s, payout minimum %s\n", args[0], t.GetCurrency(), t.GetTimezone(), t.GetPayoutMinimum())
		})
	}
	return cmd
}

func versionRow(w *tabwriter.Writer, v *accruev1.RuleVersion) {
	fmt.Fprintf(w, "%d\t%s\t%d\n", v.GetVersion(), stamp(v.GetEffectiveAt()), len(v.GetDocument()))
}
