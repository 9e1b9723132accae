package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/rules"
)

// periodsMax bounds the months one `period list` reads (ten years).
const periodsMax = 120

// monthLayout is how periods are written.
const monthLayout = "2006-01"

// periodList reads each month's state with GetPeriod: the API has no list
// of periods, and a program has one per month since its first rules
// version, so a range of at most periodsMax months is read one call each.
func (c *cli) periodList() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "every month's state, from the program's first period to the current one", Args: cobra.NoArgs}
	from := cmd.Flags().String("from", "", "first month, YYYY-MM (default: the program's first period)")
	to := cmd.Flags().String("to", "", "last month, YYYY-MM (default: the current month)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		first, last, err := c.periodRange(cmd.Context(), *from, *to)
		if err != nil {
			return err
		}
		if n := months(first, last); n > periodsMax {
			first = last.AddDate(0, 1-periodsMax, 0)
			defer c.note("more: %d earlier months; use --from and --to (at most %d months a call)", n-periodsMax, periodsMax)
		}
		var states []*accruev1.PeriodState
		for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
			p, err := c.getPeriod(cmd.Context(), m.Format(monthLayout))
			if err != nil {
				return err
			}
			states = append(states, p)
		}
		return c.showPeriods(states)
	}
	return cmd
}

// showPeriods prints period states: a table, or with --json one object
// {"periods": [...]}.
func (c *cli) showPeriods(states []*accruev1.PeriodState) error {
	if c.json {
		items := make([]json.RawMessage, len(states))
		for i, p := range states {
			b, err := protojson.Marshal(p)
			if err != nil {
				return fmt.Errorf("encoding JSON: %w", err)
			}
			items[i] = b
		}
		b, err := json.MarshalIndent(map[string][]json.RawMessage{"periods": items}, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintln(c.out, string(b))
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	periodHeader(w)
	for _, p := range states {
		periodRow(w, p)
	}
	return w.Flush()
}

// periodRange is the months to list: the flags, else the first rules
// version's month to the current one, in the program's time zone.
func (c *cli) periodRange(ctx context.Context, from, to string) (first, last time.Time, err error) {
	loc, start := time.UTC, time.Time{}
	if from == "" || to == "" {
		resp, err := c.programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: c.program, Version: 1}))
		if err != nil {
			return first, last, connectMessage(err)
		}
		if p, err := rules.Parse([]byte(resp.Msg.GetVersion().GetDocument())); err == nil {
			loc = p.Location
		}
		start = resp.Msg.GetVersion().GetEffectiveAt().AsTime().In(loc)
	}
	if first, err = monthOr(from, "from", start); err != nil {
		return first, last, err
	}
	if last, err = monthOr(to, "to", time.Now().In(loc)); err != nil {
		return first, last, err
	}
	if last.Before(first) {
		return first, last, fmt.Errorf("--to %s is before --from %s", last.Format(monthLayout), first.Format(monthLayout))
	}
	return first, last, nil
}

// monthOr parses a YYYY-MM flag, else takes def's month.
func monthOr(s, flag string, def time.Time) (time.Time, error) {
	if s == "" {
		return time.Date(def.Year(), def.Month(), 1, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(monthLayout, s)
	if err != nil {
		return t, fmt.Errorf("--%s: want YYYY-MM: %w", flag, err)
	}
	return t, nil
}

// months counts the months from first to last, both included.
func months(first, last time.Time) int {
	return (last.Year()-first.Year())*12 + int(last.Month()-first.Month()) + 1
}
