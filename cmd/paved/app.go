package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"

	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// loadConfig parses and validates a command's settings and prepares the data dir, in that
// order, so a configuration with problems creates nothing on disk.
func loadConfig(name string, e env, args []string, dev bool) (*config.Config, []string, error) {
	cfg, rest, err := config.Load(name, args, e.getenv, e.stderr)
	if err != nil {
		return nil, nil, err
	}
	cfg.Dev = dev
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if _, err := votingRules(cfg); err != nil {
		return nil, nil, err
	}
	if err := cfg.PrepareDataDir(); err != nil {
		return nil, nil, err
	}
	return cfg, rest, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openDB connects to the configured database.
func openDB(ctx context.Context, cfg *config.Config) (*db.DB, error) {
	dbc, err := config.ParseDatabaseURL(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, db.Options{
		Dialect:         db.Dialect(dbc.Driver),
		DSN:             dbc.DSN,
		MaxOpenConns:    cfg.DBMaxOpenConns,
		MaxIdleConns:    cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (check PAVED_DATABASE_URL)", err)
	}
	return d, nil
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && isLoopback(u.Hostname())
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// votingRules reads the committee's voting settings.
func votingRules(cfg *config.Config) (requests.VotingRules, error) {
	r, err := requests.ParseVotingRules(cfg.VoteQuorum, cfg.VoteMajority, cfg.VoteWindow)
	if err != nil {
		var list []string
		if e, ok := errs.As(err); ok {
			for _, msg := range e.Fields {
				list = append(list, msg)
			}
		}
		if len(list) == 0 {
			list = []string{err.Error()}
		}
		return r, &config.Problems{List: list}
	}
	return r, nil
}
