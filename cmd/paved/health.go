package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pavedhq/paved/internal/config"
)

// runHealth asks a running server whether it is ready, for container health checks: the image
// holds no shell or curl, only this binary.
func runHealth(ctx context.Context, e env, args []string) error {
	var target string
	cfg, _, err := config.LoadWith("health", args, e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "url", "", "(command) URL to check (default: /readyz on PAVED_LISTEN's port on this machine)")
	})
	if err != nil {
		return err
	}
	if target == "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return fmt.Errorf("PAVED_LISTEN %q: %w", cfg.Listen, err)
		}
		// A server listening on every interface is reached on loopback.
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %d %s", target, resp.StatusCode, body)
	}
	fmt.Fprintf(e.stdout, "ready: %s\n", body)
	return nil
}
