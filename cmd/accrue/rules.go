package main

import (
	"encoding/json"
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

// rulesValidate checks a document with the server's own parser, locally:
// nothing is sent or saved.
func (c *cli) rulesValidate() *cobra.Command {
	cmd := &cobra.Command{Use: "validate FILE", Short: "check a rules document (- for stdin) without sending or saving it", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, err := readDocument(args[0])
		if err != nil {
			return err
		}
		p, err := rules.Parse(doc)
		if err != nil {
			var msgs []error
			for _, e := range flatten(err) {
				msgs = append(msgs, fmt.Errorf("  %w", e))
			}
			return fmt.Errorf("%s is not a valid rules document:\n%w", args[0], errors.Join(msgs...))
		}
		if c.json {
			b, err := json.MarshalIndent(map[string]any{"valid": true, "currency": p.Currency, "timezone": p.Timezone,
				"payoutMinimum": p.PayoutMinimum.String()}, "", "  ")
			if err != nil {
				return fmt.Errorf("encoding JSON: %w", err)
			}
			_, err = fmt.Fprintln(c.out, string(b))
			return err
		}
		_, err = fmt.Fprintf(c.out, "%s is valid: currency %s, time zone %s, payout minimum %s\n", args[0], p.Currency, p.Timezone, p.PayoutMinimum.String())
		return err
	}
	return cmd
}

// flatten lists the errors errors.Join put together, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func versionRow(w *tabwriter.Writer, v *accruev1.RuleVersion) {
	fmt.Fprintf(w, "%d\t%s\t%d\n", v.GetVersion(), stamp(v.GetEffectiveAt()), len(v.GetDocument()))
}
