package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/accrue/accrue/internal/bench"
)

func init() { register(func(c *cli) []*cobra.Command { return []*cobra.Command{c.bench()} }) }

// benchFlags are bench's flags.
type benchFlags struct {
	preset, accrued, closeSizes, workDir, loadClient string
	quick, markdown                                  bool
	duration                                         time.Duration
	asOf                                             int
	cases                                            []string
	orderConns                                       []int
}

// bench runs the end-to-end benchmark (internal/bench) and prints its
// table, or JSON with --json. It starts its own PostgreSQL and accrued:
// --server is not used.
func (c *cli) bench() *cobra.Command {
	cmd := &cobra.Command{Use: "bench [--quick | --preset tiny|quick|medium|full]", Short: "end-to-end benchmark on its own PostgreSQL and accrued", Args: cobra.NoArgs}
	var f benchFlags
	cmd.Flags().StringVar(&f.preset, "preset", bench.PresetFull, "tiny, quick, medium or full (issue 9's table)")
	cmd.Flags().BoolVar(&f.quick, "quick", false, "the quick preset: a few minutes")
	cmd.Flags().StringVar(&f.accrued, "accrued", "", "the accrued binary (default: accrued beside this accrue, else on PATH)")
	cmd.Flags().DurationVar(&f.duration, "duration", 0, "each load case's length (default: the preset's)")
	cmd.Flags().StringVar(&f.closeSizes, "close-partners", "", "comma-separated partner counts of the timed closes (default: the preset's)")
	cmd.Flags().IntVar(&f.asOf, "asof-entries", 0, "entries of the account read as of a time (default: the preset's)")
	cmd.Flags().IntSliceVar(&f.orderConns, "order-conns", nil, "connection counts of the PayOrder cases (default: the preset's, 8,32)")
	cmd.Flags().StringSliceVar(&f.cases, "cases", nil, "run only these cases ("+strings.Join(bench.CaseNames, ", ")+"); the ceiling always runs")
	cmd.Flags().StringVar(&f.workDir, "work-dir", "", "keep the cluster and accrued's log here (default: a temporary directory, removed)")
	cmd.Flags().StringVar(&f.loadClient, "load-client", bench.LoadClientAuto, "load client of the single-call cases: wrk, go, or empty for wrk when installed")
	cmd.Flags().BoolVar(&f.markdown, "markdown", false, "print a Markdown table (as in docs/performance.md)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return c.runBench(cmd.Context(), f) }
	return cmd
}

// runBench runs the benchmark f describes.
func (c *cli) runBench(ctx context.Context, f benchFlags) error {
	if f.quick {
		f.preset = bench.PresetQuick
	}
	opts, err := bench.Preset(f.preset)
	if err != nil {
		return err
	}
	if opts.Accrued, err = findAccrued(f.accrued); err != nil {
		return err
	}
	if f.duration > 0 {
		opts.Duration, opts.CeilingDuration = f.duration, f.duration
	}
	if f.closeSizes != "" {
		if opts.ClosePartners, err = bench.ParseSizes(f.closeSizes); err != nil {
			return err
		}
	}
	if f.asOf > 0 {
		opts.AsOfEntries = f.asOf
	}
	opts.WorkDir, opts.Progress, opts.Cases, opts.LoadClient = f.workDir, c.errOut, f.cases, f.loadClient
	if len(f.orderConns) > 0 {
		opts.OrderConns = f.orderConns
	}
	// Interrupted, the run ends its cases and still stops its accrued
	// and its cluster.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, runErr := bench.Run(ctx, opts)
	if report == nil {
		return runErr
	}
	write := report.WriteTable
	switch {
	case c.json:
		write = report.WriteJSON
	case f.markdown:
		write = report.Markdown
	}
	return errors.Join(runErr, write(c.out))
}

// findAccrued returns flagValue, else accrued beside the running binary,
// else accrued on PATH.
func findAccrued(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "accrued")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("accrued")
	if err != nil {
		return "", fmt.Errorf("bench: no accrued binary beside accrue or on PATH; build it (go build -o bin/accrued ./cmd/accrued) or pass --accrued")
	}
	return p, nil
}
