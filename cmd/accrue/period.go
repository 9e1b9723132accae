package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// progressEvery is how often `period close` prints the close's progress.
const progressEvery = 2 * time.Second

// runPeriod runs `period close PERIOD` (with progress on stderr) and
// `period get PERIOD`.
func runPeriod(ctx context.Context, c *cli, args []string) error {
	if len(args) != 2 {
		return errors.New("period close|get PERIOD")
	}
	switch args[0] {
	case "close":
		stop := c.watchClose(ctx, args[1])
		defer stop()
		return runClose(ctx, c, args[1:])
	case "get":
		p, err := c.getPeriod(ctx, args[1])
		if err != nil {
			return err
		}
		return c.show(p, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "period %s\tstatus %s\tpartners %d/%d\tstatements %d\treleased %s\n", p.GetPeriod(), p.GetStatus(),
				p.GetPartnersDone(), p.GetPartnersTotal(), p.GetStatements(), p.GetReleased())
		})
	}
	return fmt.Errorf("period %s: unknown verb", args[0])
}

func (c *cli) getPeriod(ctx context.Context, period string) (*accruev1.PeriodState, error) {
	resp, err := c.periods.GetPeriod(ctx, connect.NewRequest(&accruev1.GetPeriodRequest{Program: c.program, Period: period}))
	if err != nil {
		return nil, connectMessage(err)
	}
	return resp.Msg.GetPeriod(), nil
}

// watchClose prints a line of the close's progress to stderr every
// progressEvery until stop is called.
func (c *cli) watchClose(ctx context.Context, period string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if p, err := c.getPeriod(ctx, period); err == nil && p.GetPartnersTotal() > 0 {
				fmt.Fprintf(os.Stderr, "closing %s: %d/%d partners (%d%%)\n", period, p.GetPartnersDone(), p.GetPartnersTotal(),
					100*int64(p.GetPartnersDone())/int64(p.GetPartnersTotal()))
			}
		}
	}()
	return func() { cancel(); <-done }
}
