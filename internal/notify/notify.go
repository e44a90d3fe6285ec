// Package notify tells people about requests: an e-mail to each person involved, through the
// company's SMTP server, and a post to a Slack-compatible incoming webhook (a team channel).
//
// Nothing is sent while a request is being changed. EnqueueTx turns an event into River jobs
// inside the caller's transaction, so a change that rolls back notifies nobody and a slow or
// broken mail server never slows a page down. The workers send; a failure is retried with
// River's backoff (up to MaxAttempts times), and an answer that can never turn into success (a
// rejected recipient, a deleted webhook) cancels the job instead.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/jobs"
)

// Kind says what happened to a request.
type Kind string

// The events people are told about, in the order a proposal meets them.
const (
	// Submitted: a request was submitted and waits for review.
	Submitted Kind = "submitted"
	// ReviewDone: security finished its review; Event.Outcome may carry the recommendation.
	ReviewDone Kind = "review_done"
	// VoteOpened: the committee vote on a proposal is open.
	VoteOpened Kind = "vote_opened"
	// Decided: the request was decided; Event.Outcome is the outcome (such as
	// approved_with_conditions).
	Decided Kind = "decided"
	// AccessRemoved: security removed a person's grants or assignments of an app at the
	// identity provider; Title is the app, Summary why and what to use instead, URL where to ask
	// for an exception.
	AccessRemoved Kind = "access_removed"
)

// Kinds lists every kind.
var Kinds = []Kind{Submitted, ReviewDone, VoteOpened, Decided, AccessRemoved}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Event is one thing to tell people about a request. Its text comes from the request and may
// be typed by anyone; the messages quote it as text and never let it add mail headers or
// Slack mentions.
type Event struct {
	Kind      Kind
	RequestID int64
	// Title names the request as its page does, such as "Proposal for Miro".
	Title string
	// Summary is an optional paragraph of detail: the use case, when the vote closes, what
	// would change a rejection.
	Summary string
	// URL is the request's page. Empty means BaseURL/requests/<RequestID>; a path starting
	// with / is joined to BaseURL.
	URL string
	// Recipients are the e-mail addresses to notify (requester, supporters, voters…).
	// Duplicates are sent once; addresses that cannot be parsed are skipped, so a bad address
	// on one profile never blocks the change that triggered the event.
	Recipients []string
	// Outcome is the decision (for Decided) or security's recommendation (for ReviewDone),
	// as stored: "approved_with_conditions" reads "approved with conditions".
	Outcome string
}

// SMTPConfig says how to reach the SMTP server. E-mail is off while Host is empty.
type SMTPConfig struct {
	Host     string
	Port     int // 0 means 587
	Username string
	Password string
	// From is the sender, such as "Paved <paved@example.com>".
	From string
	// TLS is "starttls" (the default: upgrade when the server offers it, and never sign in
	// over plain text to a host other than loopback), "tls" (implicit TLS, usually port 465)
	// or "none" (a relay on a loopback host).
	TLS string
	// TLSConfig, if set, replaces the default TLS settings (system roots, ServerName = Host);
	// tests use it to trust their own certificate.
	TLSConfig *tls.Config
	// Timeout bounds one delivery, from dialling to QUIT. 0 means one minute.
	Timeout time.Duration
}

// Config configures a Notifier. A channel that is not configured is skipped.
type Config struct {
	SMTP            SMTPConfig
	SlackWebhookURL string
	// BaseURL is the portal's public URL, used to link to requests.
	BaseURL string
	// HTTPClient posts to the webhook; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	// Now stamps the Date of e-mails; nil means time.Now.
	Now func() time.Time
}

// FromConfig takes the notification settings (PAVED_SMTP_*, PAVED_SLACK_WEBHOOK_URL and the
// base URL) from a validated configuration.
func FromConfig(c *config.Config) Config {
	return Config{
		SMTP: SMTPConfig{
			Host:     c.SMTPHost,
			Port:     c.SMTPPort,
			Username: c.SMTPUsername,
			Password: c.SMTPPassword,
			From:     c.SMTPFrom,
			TLS:      c.SMTPTLS,
		},
		SlackWebhookURL: c.SlackWebhookURL,
		BaseURL:         c.BaseURL,
	}
}

// MaxAttempts is how many times a notification is tried. With River's backoff (attempt⁴
// seconds) the last try comes about 80 minutes after the first: long enough to ride out a mail
// server restart, short enough that nobody gets news of yesterday.
const MaxAttempts = 8

// Notifier enqueues notifications and, through its workers, sends them.
type Notifier struct {
	cfg  Config
	from *mail.Address // parsed SMTP.From; nil when e-mail is off or From is unusable
	now  func() time.Time
	http *http.Client
}

// New returns a Notifier for cfg. The settings are expected to have passed config.Validate;
// a From address that still does not parse turns e-mail off rather than failing every job.
func New(cfg Config) *Notifier {
	n := &Notifier{cfg: cfg, now: cfg.Now, http: cfg.HTTPClient}
	if n.now == nil {
		n.now = time.Now
	}
	if n.http == nil {
		n.http = &http.Client{Timeout: 30 * time.Second}
	}
	if n.cfg.SMTP.Port == 0 {
		n.cfg.SMTP.Port = 587
	}
	if n.cfg.SMTP.TLS == "" {
		n.cfg.SMTP.TLS = "starttls"
	}
	if n.cfg.SMTP.Timeout <= 0 {
		n.cfg.SMTP.Timeout = time.Minute
	}
	if cfg.SMTP.Host != "" {
		if a, err := mail.ParseAddress(cfg.SMTP.From); err == nil {
			n.from = a
		}
	}
	return n
}

// EmailEnabled reports whether e-mails are sent.
func (n *Notifier) EmailEnabled() bool { return n.from != nil }

// SlackEnabled reports whether the webhook is posted to.
func (n *Notifier) SlackEnabled() bool { return n.cfg.SlackWebhookURL != "" }

// Register adds the workers that send notifications to j. Both are registered even when their
// channel is off, so jobs queued before a restart that turned a channel off end (cancelled)
// instead of failing as unknown kinds.
func (n *Notifier) Register(j *jobs.Jobs) {
	jobs.AddWorker(j, &EmailWorker{n: n})
	jobs.AddWorker(j, &SlackWorker{n: n})
}

// insertOpts caps the retries of every notification job.
var insertOpts = &river.InsertOpts{MaxAttempts: MaxAttempts}

// EnqueueTx queues the notifications of ev inside tx: one e-mail per recipient when e-mail is
// on and one webhook post when Slack is on. They are sent after tx commits, and never if it
// rolls back. An error means the jobs could not be written (tx is then unusable anyway) or ev
// is malformed.
func (n *Notifier) EnqueueTx(ctx context.Context, j *jobs.Jobs, tx *sqlx.Tx, ev Event) error {
	if !ev.Kind.Valid() {
		return fmt.Errorf("notify: unknown event kind %q", ev.Kind)
	}
	if !n.EmailEnabled() && !n.SlackEnabled() {
		return nil
	}
	m := n.render(ev)
	if n.EmailEnabled() {
		for _, to := range Addresses(ev.Recipients) {
			args := EmailArgs{To: to, Subject: m.subject, Text: m.email}
			if _, err := j.InsertTx(ctx, tx, args, insertOpts); err != nil {
				return err
			}
		}
	}
	if n.SlackEnabled() {
		if _, err := j.InsertTx(ctx, tx, SlackArgs{Text: m.slack}, insertOpts); err != nil {
			return err
		}
	}
	return nil
}

// Addresses returns the bare addresses of list ("Ann <ann@example.com>" gives
// ann@example.com), each once (compared without case), in order, without those that do not
// parse.
func Addresses(list []string) []string {
	seen := make(map[string]bool, len(list))
	var out []string
	for _, raw := range list {
		a, err := mail.ParseAddress(strings.TrimSpace(raw))
		if err != nil {
			continue
		}
		key := strings.ToLower(a.Address)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, a.Address)
	}
	return out
}

// errOff cancels a job whose channel was turned off after it was queued.
func errOff(what string) error {
	return river.JobCancel(errors.New(what + " is not configured any more; the notification is dropped"))
}
