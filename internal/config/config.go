// Package config holds Paved's settings. Every setting is a flag and a PAVED_* environment
// variable (flag wins over environment, environment over the default), so one struct describes
// the whole configuration and the README's table is checked against it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the effective configuration of one paved process.
type Config struct {
	Listen         string
	BaseURL        string
	DatabaseURL    string
	DataDir        string
	LogLevel       string
	LogFormat      string
	MaxBodyBytes   int64
	MaxUploadBytes int64
	// MaxInflatedBytes bounds what an upload may decompress to; 0 means 10 × MaxUploadBytes.
	MaxInflatedBytes int64
	LoginRateLimit   int

	DBMaxOpenConns    int
	DBMaxIdleConns    int
	DBConnMaxLifetime time.Duration

	SearchURL string
	SearchKey string

	OIDCIssuer               string
	OIDCClientID             string
	OIDCClientSecret         string
	OIDCScopes               string
	OIDCGroupsClaim          string
	OIDCRequireVerifiedEmail bool
	OIDCDiscoveryTimeout     time.Duration

	RoleCommitteeGroups string
	RoleSecurityGroups  string
	RoleAdminGroups     string

	SessionIdleTimeout time.Duration
	SessionMaxLifetime time.Duration

	VoteQuorum      string
	VoteMajority    string
	VoteWindow      string
	DemandThreshold int
	VoteChairRole   string
	VoteChairGroups string
	PrivacyMinUsers int
	UsageRetention  time.Duration
	SourcesFile     string

	ShutdownTimeout time.Duration
	NoMigrate       bool

	// Notifications: e-mail through an SMTP server and posts to a Slack-compatible incoming
	// webhook. Either channel is off while its host or URL is empty.
	SMTPHost        string
	SMTPPort        int
	SMTPUsername    string
	SMTPPassword    string
	SMTPFrom        string
	SMTPTLS         string
	SlackWebhookURL string

	// Dev is set by `paved dev`, never by a flag: it mounts the dev identity provider and
	// shows a warning banner.
	Dev bool
}

// Setting describes one configuration knob for help output and the README table.
type Setting struct {
	Flag, Env, Default, Help string
	Secret                   bool
}

// Load builds a Config from defaults, then PAVED_* variables from env, then args. It returns the
// remaining positional arguments. Problems with values (not their meaning) are reported together.
func Load(name string, args []string, env func(string) string, stderr io.Writer) (*Config, []string, error) {
	return LoadWith(name, args, env, stderr, nil)
}

// LoadWith is Load for a command with flags of its own, which extra registers. Those flags have
// no environment variable.
func LoadWith(name string, args []string, env func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*Config, []string, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Register(fs)
	var problems []string
	fs.VisitAll(func(f *flag.Flag) {
		v := env(EnvName(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q is not valid: %v", EnvName(f.Name), v, err))
		}
	})
	if len(problems) > 0 {
		return nil, nil, &Problems{List: problems}
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: paved %s [flags]\n\nEvery setting can also be set with the environment variable shown.\n\n", name)
		PrintSettings(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

// Register defines every setting on fs, with its default.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	fs.StringVar(&c.BaseURL, "base-url", "", "public URL of the portal, used for redirects and cookies (default: http://<listen>)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://… for PostgreSQL; empty or sqlite:PATH for SQLite (default <data-dir>/paved.db)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "folder for the SQLite database and the embedded search index")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or text")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted, in bytes (uploads have their own limit)")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", 100<<20, "largest log file accepted by the discovery upload form, in bytes")
	fs.Int64Var(&c.MaxInflatedBytes, "max-inflated-bytes", 0, "largest size a gzip log may decompress to, in bytes (0: 10 × max-upload-bytes)")
	fs.IntVar(&c.LoginRateLimit, "login-rate-limit", 30, "sign-ins a client address may start per minute, per server (0: no limit)")
	fs.IntVar(&c.DBMaxOpenConns, "db-max-open-conns", 0, "most open database connections (0: 4 for SQLite, 20 for PostgreSQL)")
	fs.IntVar(&c.DBMaxIdleConns, "db-max-idle-conns", 0, "most idle database connections kept (0: same as open)")
	fs.DurationVar(&c.DBConnMaxLifetime, "db-conn-max-lifetime", 30*time.Minute, "recycle database connections after this long")
	fs.StringVar(&c.SearchURL, "search-url", "", "Meilisearch URL; empty uses the embedded index in the data dir")
	fs.StringVar(&c.SearchKey, "search-key", "", "Meilisearch API key")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL of the company's identity provider")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "OIDC client id registered for Paved")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "OIDC client secret")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", "openid,email,profile,groups", "comma-separated scopes to request")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", "groups", "ID token or userinfo claim that lists the user's groups")
	fs.BoolVar(&c.OIDCRequireVerifiedEmail, "oidc-require-verified-email", true, "refuse sign-ins whose email_verified claim is not true")
	fs.DurationVar(&c.OIDCDiscoveryTimeout, "oidc-discovery-timeout", time.Minute, "how long to retry the identity provider's discovery at start")
	fs.StringVar(&c.RoleCommitteeGroups, "role-committee-groups", "", "comma-separated groups whose members get the committee role")
	fs.StringVar(&c.RoleSecurityGroups, "role-security-groups", "", "comma-separated groups whose members get the security role")
	fs.StringVar(&c.RoleAdminGroups, "role-admin-groups", "", "comma-separated groups whose members get the admin role")
	fs.DurationVar(&c.SessionIdleTimeout, "session-idle-timeout", 8*time.Hour, "sign out after this long without a request")
	fs.DurationVar(&c.SessionMaxLifetime, "session-max-lifetime", 7*24*time.Hour, "sign out this long after sign-in, whatever the activity")
	fs.StringVar(&c.VoteQuorum, "vote-quorum", "3", "committee votes needed (abstentions count) for a vote to decide anything")
	fs.StringVar(&c.VoteMajority, "vote-majority", "0.5", "share of approvals among approve and reject votes that must be exceeded, such as 0.5 or 60%")
	fs.StringVar(&c.VoteWindow, "vote-window", "7d", "how long a committee vote stays open, such as 7d or 72h")
	fs.StringVar(&c.VoteChairRole, "vote-chair-role", "security", "role that chairs the committee and may close a vote early, with a reason: committee, security, admin or none")
	fs.StringVar(&c.VoteChairGroups, "vote-chair-groups", "", "identity-provider groups (comma-separated) whose committee members also chair the committee, beside the chair role")
	fs.IntVar(&c.DemandThreshold, "demand-threshold", 0, "demand score (0–100) at which a reviewed proposal goes to the committee by itself; 0 turns it off")
	fs.IntVar(&c.PrivacyMinUsers, "privacy-min-users", 3, "usage counts of apps used by fewer people are hidden from everyone but security")
	fs.DurationVar(&c.UsageRetention, "usage-retention", 180*24*time.Hour, "raw usage events older than this are deleted (aggregates stay), such as 4320h for 180 days")
	fs.StringVar(&c.SourcesFile, "sources-file", "", "JSON file of identity-provider API sources to pull from (tokens from the environment variables it names)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to let in-flight requests finish on SIGINT/SIGTERM")
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "do not apply database migrations at start")
	fs.StringVar(&c.SMTPHost, "smtp-host", "", "SMTP server that sends notification e-mails; empty sends none")
	fs.IntVar(&c.SMTPPort, "smtp-port", 587, "SMTP server port: 587 for STARTTLS, 465 for implicit TLS")
	fs.StringVar(&c.SMTPUsername, "smtp-username", "", "SMTP user name; empty sends without signing in")
	fs.StringVar(&c.SMTPPassword, "smtp-password", "", "SMTP password")
	fs.StringVar(&c.SMTPFrom, "smtp-from", "", "sender of notification e-mails, such as Paved <paved@example.com>")
	fs.StringVar(&c.SMTPTLS, "smtp-tls", "starttls", "starttls, tls (implicit TLS, usually port 465) or none (only for a relay on a loopback host)")
	fs.StringVar(&c.SlackWebhookURL, "slack-webhook-url", "", "Slack-compatible incoming webhook that receives notifications; empty posts none")
}

// secretFlags are never printed with their values.
var secretFlags = map[string]bool{"oidc-client-secret": true, "search-key": true, "database-url": true,
	"smtp-password": true, "slack-webhook-url": true}

// MaxInflated is the most a compressed log may decompress to: MaxInflatedBytes, or ten times
// the upload limit when that is 0.
func (c *Config) MaxInflated() int64 {
	if c.MaxInflatedBytes > 0 {
		return c.MaxInflatedBytes
	}
	return 10 * c.MaxUploadBytes
}

// EnvName is the environment variable for a flag: --base-url ↔ PAVED_BASE_URL.
func EnvName(flagName string) string {
	return "PAVED_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Settings lists every setting in flag order, for documentation.
func Settings() []Setting {
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	(&Config{}).Register(fs)
	var out []Setting
	fs.VisitAll(func(f *flag.Flag) {
		out = append(out, Setting{Flag: f.Name, Env: EnvName(f.Name), Default: f.DefValue, Help: f.Usage, Secret: secretFlags[f.Name]})
	})
	return out
}

// PrintSettings writes the flags of fs with their environment variables.
func PrintSettings(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		envName := ""
		if !strings.HasPrefix(f.Usage, "(command) ") {
			envName = "  [" + EnvName(f.Name) + "]"
		}
		fmt.Fprintf(w, "  --%s%s\n        %s%s\n", f.Name, envName, strings.TrimPrefix(f.Usage, "(command) "), def)
	})
}

// Problems is a list of configuration problems, each naming its setting and how to fix it.
type Problems struct{ List []string }

func (p *Problems) Error() string {
	return "invalid configuration:\n  - " + strings.Join(p.List, "\n  - ")
}

// IsProblems reports whether err is a configuration problem list.
func IsProblems(err error) bool {
	var p *Problems
	return errors.As(err, &p)
}

// Validate checks what the settings mean, without touching the disk or the network, and fills
// derived defaults (the base URL). It reports every problem at once.
func (c *Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		add("PAVED_LISTEN (--listen) %q must be host:port, for example 127.0.0.1:8080", c.Listen)
	}
	if c.BaseURL == "" && err == nil {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.BaseURL = "http://" + net.JoinHostPort(host, port)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		add("PAVED_BASE_URL (--base-url) %q must be an absolute http:// or https:// URL with no path, such as https://paved.example.com", c.BaseURL)
	} else {
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	}

	if _, err := ParseDatabaseURL(c.DatabaseURL, c.DataDir); err != nil {
		add("PAVED_DATABASE_URL (--database-url): %v", err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("PAVED_DATA_DIR (--data-dir) must not be empty; the default is ./data")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("PAVED_LOG_LEVEL (--log-level) %q must be one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		add("PAVED_LOG_FORMAT (--log-format) %q must be json or text", c.LogFormat)
	}
	switch c.VoteChairRole {
	case "committee", "security", "admin", "none":
	default:
		add("PAVED_VOTE_CHAIR_ROLE (--vote-chair-role) %q must be committee, security, admin or none", c.VoteChairRole)
	}
	if c.MaxBodyBytes < 1024 {
		add("PAVED_MAX_BODY_BYTES (--max-body-bytes) %d is too small; use at least 1024", c.MaxBodyBytes)
	}
	if c.MaxInflatedBytes < 0 {
		add("PAVED_MAX_INFLATED_BYTES (--max-inflated-bytes) %d must be 0 (ten times the upload limit) or more", c.MaxInflatedBytes)
	}
	if c.LoginRateLimit < 0 {
		add("PAVED_LOGIN_RATE_LIMIT (--login-rate-limit) %d must be 0 (no limit) or more", c.LoginRateLimit)
	}
	if c.DBMaxOpenConns < 0 || c.DBMaxIdleConns < 0 {
		add("PAVED_DB_MAX_OPEN_CONNS and PAVED_DB_MAX_IDLE_CONNS must not be negative")
	}
	if c.SearchURL != "" {
		if u, err := url.Parse(c.SearchURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("PAVED_SEARCH_URL (--search-url) %q must be the http(s) URL of a Meilisearch server", c.SearchURL)
		}
	}
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("PAVED_OIDC_ISSUER (--oidc-issuer) %q must be the identity provider's https:// issuer URL", c.OIDCIssuer)
		}
		if c.OIDCClientID == "" {
			add("PAVED_OIDC_CLIENT_ID (--oidc-client-id) is required when PAVED_OIDC_ISSUER is set")
		}
	}
	if c.SessionIdleTimeout <= 0 || c.SessionMaxLifetime <= 0 {
		add("PAVED_SESSION_IDLE_TIMEOUT and PAVED_SESSION_MAX_LIFETIME must be positive durations such as 8h")
	} else if c.SessionIdleTimeout > c.SessionMaxLifetime {
		add("PAVED_SESSION_IDLE_TIMEOUT (%s) must not exceed PAVED_SESSION_MAX_LIFETIME (%s)", c.SessionIdleTimeout, c.SessionMaxLifetime)
	}
	if c.UsageRetention < 24*time.Hour {
		add("PAVED_USAGE_RETENTION (--usage-retention) must be at least 24h")
	}
	if c.ShutdownTimeout <= 0 {
		add("PAVED_SHUTDOWN_TIMEOUT (--shutdown-timeout) must be positive, such as 20s")
	}
	p = append(p, c.notificationProblems()...)
	if len(p) > 0 {
		return &Problems{List: p}
	}
	return nil
}

// notificationProblems checks the SMTP and webhook settings. Secret values (the password, the
// webhook URL, which holds its token) are never quoted in the messages.
func (c *Config) notificationProblems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	// A Config built in code rather than by Load gets the flags' defaults.
	if c.SMTPTLS == "" {
		c.SMTPTLS = "starttls"
	}
	if c.SMTPPort == 0 {
		c.SMTPPort = 587
	}
	tlsOK := true
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		tlsOK = false
		add("PAVED_SMTP_TLS (--smtp-tls) %q must be starttls, tls or none", c.SMTPTLS)
	}
	if c.SMTPHost == "" {
		for _, s := range []struct{ env, value string }{
			{"PAVED_SMTP_USERNAME", c.SMTPUsername}, {"PAVED_SMTP_PASSWORD", c.SMTPPassword}, {"PAVED_SMTP_FROM", c.SMTPFrom},
		} {
			if s.value != "" {
				add("%s is set but PAVED_SMTP_HOST (--smtp-host) is empty; set the SMTP server, or unset %s", s.env, s.env)
			}
		}
	} else {
		if strings.ContainsAny(c.SMTPHost, ":/ ") && net.ParseIP(c.SMTPHost) == nil {
			add("PAVED_SMTP_HOST (--smtp-host) %q must be a host name or IP address only, such as smtp.example.com; put the port in PAVED_SMTP_PORT", c.SMTPHost)
		}
		if tlsOK && c.SMTPTLS == "none" && !LoopbackHost(c.SMTPHost) {
			add("PAVED_SMTP_TLS (--smtp-tls) none is only allowed for an SMTP relay on a loopback host (localhost, 127.0.0.1, ::1), not %q; use starttls or tls", c.SMTPHost)
		}
		if c.SMTPFrom == "" {
			add("PAVED_SMTP_FROM (--smtp-from) is required when PAVED_SMTP_HOST is set, such as Paved <paved@example.com>")
		} else if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			add("PAVED_SMTP_FROM (--smtp-from) %q is not an e-mail address; use paved@example.com or Paved <paved@example.com>", c.SMTPFrom)
		}
		if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
			add("PAVED_SMTP_USERNAME and PAVED_SMTP_PASSWORD must be set together, or both left empty to send without signing in")
		}
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		add("PAVED_SMTP_PORT (--smtp-port) %d must be a TCP port between 1 and 65535, usually 587 or 465", c.SMTPPort)
	}
	if c.SlackWebhookURL != "" {
		u, err := url.Parse(c.SlackWebhookURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add("PAVED_SLACK_WEBHOOK_URL (--slack-webhook-url) must be an https:// URL, such as https://hooks.slack.com/services/…")
		case u.Scheme == "http" && !LoopbackHost(u.Hostname()):
			add("PAVED_SLACK_WEBHOOK_URL (--slack-webhook-url) must use https://; plain http:// is only allowed for a loopback host")
		}
	}
	return p
}

// LoopbackHost reports whether host (a name or IP address, without port) is this machine's
// loopback interface, judged without a DNS lookup: only there may mail travel unencrypted.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// Secure reports whether the portal is served over https (cookies get Secure, HSTS is sent).
func (c *Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// PrepareDataDir creates the data dir if needed and proves it is writable. It is separate from
// Validate so that a config with other problems creates nothing on disk.
func (c *Config) PrepareDataDir() error {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return &Problems{List: []string{fmt.Sprintf("PAVED_DATA_DIR (--data-dir) %q cannot be created: %v; choose a writable folder", c.DataDir, err)}}
	}
	f, err := os.CreateTemp(c.DataDir, ".write-check-*")
	if err != nil {
		return &Problems{List: []string{fmt.Sprintf("PAVED_DATA_DIR (--data-dir) %q is not writable: %v; choose a writable folder", c.DataDir, err)}}
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Database names the SQL backend and how to reach it.
type Database struct {
	Driver string // "sqlite" or "postgres"
	// DSN is the file path for SQLite or the URL for PostgreSQL.
	DSN string
}

// ParseDatabaseURL chooses the database backend from PAVED_DATABASE_URL.
func ParseDatabaseURL(raw, dataDir string) (Database, error) {
	switch {
	case raw == "":
		return Database{Driver: "sqlite", DSN: filepath.Join(dataDir, "paved.db")}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return Database{}, fmt.Errorf("%q is not a valid PostgreSQL URL (postgres://user:password@host:5432/db)", redact(raw))
		}
		return Database{Driver: "postgres", DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return Database{}, errors.New(`"sqlite:" needs a file path, such as sqlite:./data/paved.db`)
		}
		return Database{Driver: "sqlite", DSN: path}, nil
	default:
		scheme, _, _ := strings.Cut(raw, ":")
		return Database{}, fmt.Errorf("unknown scheme %q: use postgres://… for PostgreSQL, or leave it empty for SQLite in the data dir", scheme)
	}
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Effective lists each setting's current value for `paved config`, with secrets hidden.
func (c *Config) Effective() []Setting {
	fs := flag.NewFlagSet("effective", flag.ContinueOnError)
	view := &Config{}
	view.Register(fs)
	// The flag values point into view; copying c over it makes them report c's values.
	*view = *c
	var out []Setting
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if secretFlags[f.Name] && v != "" {
			v = "(set)"
		}
		out = append(out, Setting{Flag: f.Name, Env: EnvName(f.Name), Default: v, Help: f.Usage, Secret: secretFlags[f.Name]})
	})
	return out
}

// MarkdownTable renders the settings as the README's configuration table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Environment variable | Flag | Default | What it does |\n|---|---|---|---|\n")
	for _, s := range Settings() {
		def := s.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s |\n", s.Env, s.Flag, def, strings.ReplaceAll(s.Help, "|", "\\|"))
	}
	return b.String()
}
