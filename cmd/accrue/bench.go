package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/accrue/accrue/internal/bench"
)

// runBench runs the end-to-end benchmark (internal/bench) and prints its
// table, or JSON with --json. It starts its own PostgreSQL and accrued:
// --server is not used.
func runBench(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	preset := fs.String("preset", bench.PresetFull, "tiny, quick, medium or full (issue 9's table)")
	quick := fs.Bool("quick", false, "the quick preset: a few minutes")
	accrued := fs.String("accrued", "", "the accrued binary (default: accrued beside this accrue, else on PATH)")
	duration := fs.Duration("duration", 0, "each load case's length (default: the preset's)")
	closeSizes := fs.String("close-partners", "", "comma-separated partner counts of the timed closes (default: the preset's)")
	asOf := fs.Int("asof-entries", 0, "entries of the account read as of a time (default: the preset's)")
	workDir := fs.String("work-dir", "", "keep the cluster and accrued's log here (default: a temporary directory, removed)")
	asJSON := fs.Bool("json", c.json, "print JSON")
	asMarkdown := fs.Bool("markdown", false, "print a Markdown table (as in docs/performance.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quick {
		*preset = bench.PresetQuick
	}
	opts, err := bench.Preset(*preset)
	if err != nil {
		return err
	}
	if opts.Accrued, err = findAccrued(*accrued); err != nil {
		return err
	}
	if *duration > 0 {
		opts.Duration, opts.CeilingDuration = *duration, *duration
	}
	if *closeSizes != "" {
		if opts.ClosePartners, err = bench.ParseSizes(*closeSizes); err != nil {
			return err
		}
	}
	if *asOf > 0 {
		opts.AsOfEntries = *asOf
	}
	opts.WorkDir, opts.Progress = *workDir, os.Stderr
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
	case *asJSON:
		write = report.WriteJSON
	case *asMarkdown:
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
