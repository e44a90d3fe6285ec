package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
)

// runImport imports identity-provider logs from files: `paved import --format okta FILE...`.
// Without --format each file's format is detected from its first bytes.
func runImport(ctx context.Context, e env, args []string) error {
	var format string
	cfg, files, err := config.LoadWith("import", args, e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "", "(command) okta, entra, google, csv, or people for a directory export; empty detects it from each file")
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(e.stderr, "Usage: paved import [--format okta|entra|google|csv|people] FILE...")
		return errUsage
	}
	if err := prepare(cfg); err != nil {
		return err
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	st := discovery.NewStore(d)
	st.Retention = cfg.UsageRetention
	if format == formatPeople {
		return importPeopleFiles(ctx, e, st, files)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tFORMAT\tSTATUS\tREAD\tNEW\tDUPLICATE\tSKIPPED\tREJECTED")
	failed := 0
	for _, path := range files {
		run, err := importOne(ctx, st, format, path, e.stderr, discovery.WithMaxInflatedBytes(cfg.MaxInflated()))
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "paved import: %v\n", err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", filepath.Base(path), run.Format, run.Status, run.Read, run.New, run.Duplicate, run.Skipped, run.Rejected)
		for _, rj := range run.Rejections() {
			fmt.Fprintf(e.stderr, "  %s line %d: %s\n", filepath.Base(path), rj.Line, rj.Reason)
		}
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(files))
	}
	return nil
}

func importOne(ctx context.Context, st *discovery.Store, format, path string, progress io.Writer, limit discovery.Option) (discovery.ImportRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return discovery.ImportRun{Format: format, Status: "unreadable"}, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	pr := &progressReader{r: f}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { showProgress(progress, filepath.Base(path), size, pr, stop); close(done) }()
	defer func() { close(stop); <-done }()
	return importFrom(ctx, st, format, path, pr, limit)
}

func importFrom(ctx context.Context, st *discovery.Store, format, path string, f io.Reader, limit discovery.Option) (discovery.ImportRun, error) {
	if format == "" {
		detected, rd, err := discovery.Sniff(f, limit)
		if err != nil {
			return discovery.ImportRun{Status: "unknown format"}, fmt.Errorf("%s: %w (choose one with --format)", path, err)
		}
		return st.Import(ctx, audit.Actor{Name: "cli"}, detected, filepath.Base(path), rd, limit)
	}
	return st.Import(ctx, audit.Actor{Name: "cli"}, format, filepath.Base(path), f, limit)
}
