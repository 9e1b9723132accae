package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// progressEvery is how often `period close` polls GetPeriod for the
// close's progress.
const progressEvery = 2 * time.Second

// barWidth is the progress bar's width in characters.
const barWidth = 30

func init() { register(periodCommands) }

// periodCommands are `accrue period ...` and the older `accrue close`.
func periodCommands(c *cli) []*cobra.Command {
	cmd := newGroup("period", "close monthly periods and read their state", "periods")
	cmd.AddCommand(c.periodClose("close PERIOD"), c.periodGet(), c.periodList())
	old := c.periodClose("close PERIOD")
	old.Short += " (same as period close)"
	return []*cobra.Command{cmd, old}
}

func (c *cli) periodClose(use string) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: "close a month (YYYY-MM), with a progress bar on stderr", Args: cobra.ExactArgs(1)}
	key := keyFlag(cmd, "derived from the period")
	quiet := cmd.Flags().Bool("quiet", false, "no progress")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req := &accruev1.ClosePeriodRequest{Program: c.program, Period: args[0],
			IdempotencyKey: c.idempotencyKey(*key, derivedKey("close", args[0]))}
		if !*quiet {
			stop := c.watchClose(cmd.Context(), args[0])
			defer stop()
		}
		resp, err := c.periods.ClosePeriod(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		err = c.show(resp.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "period %s\tstatements %d\treleased %s\talready closed=%v\n", resp.Msg.GetPeriod(), resp.Msg.GetStatements(),
				resp.Msg.GetReleased(), resp.Msg.GetAlreadyClosed())
		})
		if resp.Msg.GetAlreadyClosed() {
			c.note("already closed: the period had been closed; nothing changed")
		}
		return err
	}
	return cmd
}

func (c *cli) periodGet() *cobra.Command {
	cmd := &cobra.Command{Use: "get PERIOD", Short: "a period's status and, while closing, its progress", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p, err := c.getPeriod(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return c.show(p, func(w *tabwriter.Writer) {
			periodHeader(w)
			periodRow(w, p)
		})
	}
	return cmd
}

func periodHeader(w *tabwriter.Writer) {
	fmt.Fprintln(w, "PERIOD\tSTATUS\tPARTNERS\tSTATEMENTS\tRELEASED\tSTARTED\tCLOSED")
}

func periodRow(w *tabwriter.Writer, p *accruev1.PeriodState) {
	fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\n", p.GetPeriod(), enumName(p.GetStatus(), "PERIOD_STATUS_"),
		p.GetPartnersDone(), p.GetPartnersTotal(), p.GetStatements(), p.GetReleased(), stamp(p.GetStartedAt()), stamp(p.GetClosedAt()))
}

func (c *cli) getPeriod(ctx context.Context, period string) (*accruev1.PeriodState, error) {
	resp, err := c.periods.GetPeriod(ctx, connect.NewRequest(&accruev1.GetPeriodRequest{Program: c.program, Period: period}))
	if err != nil {
		return nil, connectMessage(err)
	}
	return resp.Msg.GetPeriod(), nil
}

// watchClose shows the close's progress on stderr, polling GetPeriod every
// progressEvery, until stop is called: a bar redrawn in place on a
// terminal, else a line per poll.
func (c *cli) watchClose(ctx context.Context, period string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	tty := isTerminal(c.errOut)
	drawn := false
	go func() {
		defer close(done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if drawn {
					fmt.Fprintln(c.errOut)
				}
				return
			case <-tick.C:
			}
			if p, err := c.getPeriod(ctx, period); err == nil && p.GetPartnersTotal() > 0 {
				fmt.Fprint(c.errOut, progressLine(p, tty))
				drawn = tty
			}
		}
	}()
	return func() { cancel(); <-done }
}

// progressLine renders a close's progress: on a terminal a bar that the
// next one overwrites, else a plain line.
func progressLine(p *accruev1.PeriodState, tty bool) string {
	done, total := int64(p.GetPartnersDone()), int64(p.GetPartnersTotal())
	pct := 100 * done / total
	if !tty {
		return fmt.Sprintf("closing %s: %d/%d partners (%d%%)\n", p.GetPeriod(), done, total, pct)
	}
	filled := int(int64(barWidth) * done / total)
	return fmt.Sprintf("\rclosing %s [%s%s] %d/%d partners %3d%%", p.GetPeriod(),
		strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), done, total, pct)
}

// isTerminal says whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
