package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
)

// runToken creates and revokes API tokens from the command line, for bootstrapping (before any
// administrator has signed in) and automation.
func runToken(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke" && args[0] != "list") {
		fmt.Fprintln(e.stderr, "Usage: paved token create --name N --scopes catalog:read,discovery:write --expires 90d")
		fmt.Fprintln(e.stderr, "       paved token revoke --name N")
		fmt.Fprintln(e.stderr, "       paved token list")
		fmt.Fprintln(e.stderr, "Scopes:", strings.Join(scopeList(), ", "))
		return errUsage
	}
	action := args[0]
	var (
		name, scopes, expires string
		id                    int64
	)
	cfg, _, err := config.LoadWith("token "+action, args[1:], e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "(command) token name")
		fs.StringVar(&scopes, "scopes", "", "(command) comma-separated scopes: "+strings.Join(scopeList(), ", "))
		fs.StringVar(&expires, "expires", "90d", "(command) lifetime: a number of days (90d) or a Go duration (12h)")
		fs.Int64Var(&id, "id", 0, "(command) token id to revoke, instead of --name")
	})
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := cfg.PrepareDataDir(); err != nil {
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
	svc := auth.NewService(d, auth.Options{})
	actor := audit.Actor{Name: "cli"}
	switch action {
	case "create":
		life, err := parseLifetime(expires)
		if err != nil {
			return err
		}
		t, secret, err := svc.CreateToken(ctx, actor, auth.NewToken{Name: name, Scopes: auth.ParseScopes(scopes), ExpiresIn: life})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Created token %q (id %d) with scopes %s, expiring %s. It is shown only now:\n", t.Name, t.ID, t.ScopesText, t.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(e.stdout, secret)
	case "revoke":
		if id == 0 && name == "" {
			return fmt.Errorf("name the token to revoke with --name or --id")
		}
		t, err := svc.RevokeToken(ctx, actor, id, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked token %q (id %d)\n", t.Name, t.ID)
	case "list":
		list, err := svc.Tokens(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, t := range list {
			state := "active"
			if t.RevokedAt != nil {
				state = "revoked"
			} else if !t.Active(now) {
				state = "expired"
			}
			fmt.Fprintf(e.stdout, "%d\t%s\t%s\t%s\texpires %s\n", t.ID, t.Name, state, t.ScopesText, t.ExpiresAt.Format("2006-01-02"))
		}
	}
	return nil
}

func scopeList() []string {
	out := make([]string, len(auth.Scopes))
	for i, s := range auth.Scopes {
		out[i] = string(s)
	}
	return out
}

// parseLifetime reads "90d" as days and anything else as a Go duration.
func parseLifetime(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("--expires %q: use a number of days such as 90d", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: use a number of days (90d) or a duration (12h)", v)
	}
	return d, nil
}
