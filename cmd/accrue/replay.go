package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgembed"
	"github.com/accrue/accrue/internal/replay"
	"github.com/accrue/accrue/internal/txn"
)

func init() { register(func(c *cli) []*cobra.Command { return []*cobra.Command{c.replay()} }) }

// replay runs each scenario file on a fresh program and prints its JSON
// output; with --check it compares with the file's expect and fails on any
// difference. It needs no accrued: --server is not used.
func (c *cli) replay() *cobra.Command {
	cmd := &cobra.Command{Use: "replay [--check] [--database-url URL] FILE...", Short: "run scenarios on a fresh program", Args: cobra.MinimumNArgs(1)}
	check := cmd.Flags().Bool("check", false, "compare with the scenario's expect; exit non-zero on any difference")
	dbURL := cmd.Flags().String("database-url", os.Getenv("ACCRUE_DATABASE_URL"), "database URL; empty = embedded PostgreSQL")
	dataDir := cmd.Flags().String("data-dir", "", "embedded PostgreSQL directory, kept; empty = a fresh temporary one per run, removed at the end")
	verbose := cmd.Flags().BoolP("verbose", "v", false, "log unexpected step failures")
	cmd.RunE = func(cmd *cobra.Command, files []string) error {
		ctx := cmd.Context()
		if *dbURL == "" {
			url, stop, err := embeddedDatabase(ctx, *dataDir)
			if err != nil {
				return err
			}
			defer stop()
			*dbURL = url
		}
		db, err := database.Open(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer db.Pool.Close()
		var log *slog.Logger
		if *verbose {
			log = slog.New(slog.NewTextHandler(c.errOut, nil))
		}
		return c.replayFiles(ctx, db, files, *check, log)
	}
	return cmd
}

// replayFiles replays each file on db.
func (c *cli) replayFiles(ctx context.Context, db *txn.DB, files []string, check bool, log *slog.Logger) error {
	failed := 0
	for _, file := range files {
		sc, err := replay.Load(file)
		if err != nil {
			return err
		}
		out, err := replay.Run(ctx, db, sc, log)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		if !check {
			fmt.Fprintln(c.out, string(b))
			continue
		}
		diffs := replay.Check(sc, out)
		if len(diffs) == 0 {
			fmt.Fprintf(c.out, "PASS %s\n", file)
			continue
		}
		failed++
		fmt.Fprintf(c.out, "FAIL %s\n", file)
		for _, d := range diffs {
			fmt.Fprintf(c.out, "  %s\n", d)
		}
	}
	if failed > 0 {
		return fmt.Errorf("replay: %d of %d scenarios differ from their expect", failed, len(files))
	}
	return nil
}

// embeddedDatabase starts a private PostgreSQL for one replay run and
// returns the URL of a database in it and a function that stops it. With
// dataDir empty the cluster lives in a fresh temporary directory that stop
// removes, so runs at the same time on one machine never share one; a
// given dataDir is kept for the next run.
func embeddedDatabase(ctx context.Context, dataDir string) (url string, stop func(), err error) {
	var root string
	if dataDir == "" {
		if root, err = os.MkdirTemp("", "accrue-replay-"); err != nil {
			return "", nil, fmt.Errorf("replay: temporary directory: %w", err)
		}
		// When we run as root, the postgres OS user runs the server and
		// must traverse this directory to reach the cluster inside.
		if err := os.Chmod(root, 0o755); err != nil {
			_ = os.RemoveAll(root)
			return "", nil, fmt.Errorf("replay: temporary directory: %w", err)
		}
		dataDir = filepath.Join(root, "data")
	}
	removeRoot := func() {
		if root != "" {
			_ = os.RemoveAll(root)
		}
	}
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: dataDir})
	if err != nil {
		removeRoot()
		return "", nil, fmt.Errorf("replay: embedded PostgreSQL: %w", err)
	}
	stop = func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cluster.Stop(stopCtx)
		removeRoot()
	}
	if err := cluster.CreateDatabase(ctx, "accrue_replay"); err != nil {
		stop()
		return "", nil, err
	}
	return cluster.URL("accrue_replay"), stop, nil
}
