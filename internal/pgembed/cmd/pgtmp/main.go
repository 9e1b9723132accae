// Command pgtmp starts and stops a private PostgreSQL cluster for shell
// scripts (make test, make bench) and manages databases on a server:
//
//	pgtmp start DIR               start (initdb if needed) a cluster in DIR,
//	                              print its server URL, exit leaving it running
//	pgtmp stop DIR                stop the cluster in DIR (no-op if stopped)
//	pgtmp createdb SERVER_URL NAME  create database NAME, print its URL
//	pgtmp dropdb SERVER_URL NAME    drop database NAME if it exists
//
// SERVER_URL is a postgres:// URL of an existing database, such as the one
// start prints. Progress goes to stderr, results to stdout.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/accrue/accrue/internal/pgembed"
)

// timeout bounds every command, initdb and start included.
const timeout = 2 * time.Minute

const usage = `usage: pgtmp start DIR | stop DIR | createdb SERVER_URL NAME | dropdb SERVER_URL NAME`

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := run(ctx, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtmp:", err)
		cancel()
		os.Exit(1)
	}
	if out != "" {
		fmt.Println(out)
	}
}

func run(ctx context.Context, args []string) (string, error) {
	if len(args) < 2 {
		return "", fmt.Errorf("%s", usage)
	}
	switch cmd := args[0]; {
	case cmd == "start" && len(args) == 2:
		logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
		cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: args[1], Logger: logger})
		if err != nil {
			return "", err
		}
		return cluster.URL("postgres"), nil
	case cmd == "stop" && len(args) == 2:
		return "", pgembed.StopDataDir(ctx, args[1])
	case cmd == "createdb" && len(args) == 3:
		return pgembed.CreateDatabaseAt(ctx, args[1], args[2])
	case cmd == "dropdb" && len(args) == 3:
		return "", pgembed.DropDatabaseAt(ctx, args[1], args[2])
	}
	return "", fmt.Errorf("%s", usage)
}
