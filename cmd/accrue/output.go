package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// show prints msg as JSON with --json, else through table.
func (c *cli) show(msg proto.Message, table func(w *tabwriter.Writer)) error {
	if c.json || table == nil {
		b, err := protojson.MarshalOptions{Multiline: true}.Marshal(msg)
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintln(c.out, string(b))
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

// note prints a line beside the answer: on stdout under a table, on stderr
// with --json (stdout is then one JSON document).
func (c *cli) note(format string, args ...any) {
	w := c.out
	if c.json {
		w = c.errOut
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// showWrite prints a write's answer and, when the server says so, that it
// was a replay: the key had been used with this payload, and the first
// answer came back with nothing written.
func (c *cli) showWrite(msg proto.Message, replayed bool, table func(w *tabwriter.Writer)) error {
	if err := c.show(msg, table); err != nil {
		return err
	}
	if replayed {
		c.note("replayed: the key had been used with this payload; this is the first answer and nothing was written")
	}
	return nil
}

// keyFlag adds --key to a write command.
func keyFlag(cmd *cobra.Command, derivedHow string) *string {
	return cmd.Flags().String("key", "", "idempotency key (default: "+derivedHow+"; printed)")
}

// idempotencyKey is the --key given, else the derived one, printed before
// the call so that a lost answer can be retried with --key.
func (c *cli) idempotencyKey(given, derived string) string {
	if given != "" {
		return given
	}
	c.note("idempotency key %s (retry with --key %s)", derived, derived)
	return derived
}

// derivedKey is the idempotency key of a command that names what it
// creates (a partner, an order payment, a close): running the same command
// again is a safe retry that posts nothing new.
func derivedKey(parts ...string) string {
	return "cli:" + strings.Join(parts, ":")
}

// randomKey is the idempotency key of a command that may rightly be run
// again with the same arguments (a click, a refund, a status change): each
// run is a new command; retry a lost answer with the printed key.
func randomKey(kind string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "cli:" + kind + ":" + hex.EncodeToString(b)
}

// atFlag adds --at (when the event happened) to a write command.
func atFlag(cmd *cobra.Command, what string) *string {
	return cmd.Flags().String("at", "", what+" (RFC 3339; default: the server's clock now)")
}

// parseTime reads an RFC 3339 flag value; empty is unset.
func parseTime(flag, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--%s: want RFC 3339 (2026-11-23T12:00:00Z): %w", flag, err)
	}
	return timestamppb.New(t), nil
}

// linesFlag adds the repeatable --line product=amount.
func linesFlag(cmd *cobra.Command, what string) *[]string {
	return cmd.Flags().StringArray("line", nil, what+", product=amount (repeatable)")
}

// parseLines reads --line values.
func parseLines(values []string) ([]*accruev1.OrderLine, error) {
	lines := make([]*accruev1.OrderLine, 0, len(values))
	for _, l := range values {
		product, amount, ok := strings.Cut(l, "=")
		if !ok || product == "" {
			return nil, fmt.Errorf("--line %q: want product=amount", l)
		}
		lines = append(lines, &accruev1.OrderLine{Product: product, Amount: amount})
	}
	return lines, nil
}

// enumName is an enum value's name without its prefix, lower case:
// PARTNER_STATUS_ACTIVE is "active".
func enumName(v fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), prefix))
}

// date formats a timestamp as YYYY-MM-DD; empty when unset.
func date(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().Format(time.DateOnly)
}

// stamp formats a timestamp as RFC 3339; empty when unset.
func stamp(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().Format(time.RFC3339)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
