package main

import (
	"context"
	"fmt"

	"github.com/pavedhq/paved/internal/jobs"
)

func runMigrate(ctx context.Context, e env, args []string) error {
	cfg, rest, err := loadConfig("migrate", e, args, false)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "Usage: paved migrate [flags] up|down|status")
		return errUsage
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	switch rest[0] {
	case "up":
		applied, err := d.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stdout, "database is up to date")
		}
		for _, a := range applied {
			fmt.Fprintln(e.stdout, "applied", a)
		}
		// River's own tables for background jobs.
		j, err := jobs.New(ctx, d, nil, jobs.Options{})
		if err != nil {
			return err
		}
		defer j.Close()
		rapplied, err := j.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, a := range rapplied {
			fmt.Fprintln(e.stdout, "applied job queue migration", a)
		}
	case "down":
		name, err := d.MigrateDown(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "rolled back", name)
	case "status":
		return d.MigrationStatus(ctx, e.stdout)
	default:
		fmt.Fprintf(e.stderr, "unknown migrate action %q: use up, down or status\n", rest[0])
		return errUsage
	}
	return nil
}
