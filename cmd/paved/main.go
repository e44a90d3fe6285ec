// Command paved is the Paved portal: one binary for the web server, migrations and tooling.
// This package only parses flags and wires dependencies; the rules live in the domain packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/pavedhq/paved/internal/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one `paved` subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

// env is what a command may touch of the outside world; tests give their own.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the portal", runServe},
		{"dev", "run the quick start: SQLite, demo sign-in with a built-in identity provider", runDev},
		{"migrate", "apply, roll back or list database migrations (up, down, status)", runMigrate},
		{"seed", "load the curated catalogue of well-known SaaS apps (--demo adds demo decisions)", runSeed},
		{"reindex", "rebuild the search index from the database", runReindex},
		{"backup", "copy the SQLite database to a file while Paved runs (PostgreSQL: use pg_dump)", runBackup},
		{"restore", "replace the SQLite database with a backup (--force) and rebuild the search index", runRestore},
		{"import", "import identity-provider logs (Okta, Entra ID, Google Workspace, CSV) from files", runImport},
		{"token", "create, list or revoke API tokens (create, list, revoke)", runToken},
		{"health", "exit 0 if the server on PAVED_LISTEN is ready (for container health checks)", runHealth},
		{"config", "print the effective configuration, secrets hidden", runConfig},
		{"version", "print the version", runVersion},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "paved %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "paved: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage means the command already printed how it is used.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: paved <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Paved: the paved road to approved cloud apps.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'paved <command> --help' for the flags of a command. Every flag can also be set")
	fmt.Fprintln(w, "with a PAVED_* environment variable, e.g. --base-url and PAVED_BASE_URL.")
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "paved %s\n", versionString())
	return nil
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

func runConfig(_ context.Context, e env, args []string) error {
	cfg, _, err := config.Load("config", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, s := range cfg.Effective() {
		fmt.Fprintf(e.stdout, "%-32s %s\n", s.Env, s.Default)
	}
	return nil
}
