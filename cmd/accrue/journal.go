package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/accrue/accrue/internal/database"
)

// runMigrate applies the schema migrations with the owner's credentials, so
// accrued itself can run with the application role's alone.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbURL := fs.String("database-url", os.Getenv("ACCRUE_MIGRATE_DATABASE_URL"), "the schema owner's URL (env ACCRUE_MIGRATE_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("migrate: --database-url (the schema owner's) is required")
	}
	if err := database.Migrate(ctx, *dbURL); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.out, "migrated; accrued may now connect as accrue_app")
	return err
}
