package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/jobs"
)

// Digest is one message listing several things at once, such as what one evaluation of the
// apps' conditions found: one e-mail to each recipient and one webhook post, however many
// items it lists.
type Digest struct {
	// Subject is the e-mail subject, such as "2 new findings".
	Subject string
	// Lead is the paragraph before the list.
	Lead string
	// Items are the lines of the list; each is shown on one line.
	Items []string
	// URL is the page with the details: a path joined to BaseURL, or an absolute URL.
	URL string
	// Recipients are the e-mail addresses to send it to; duplicates are sent once.
	Recipients []string
	// Why completes "Paved sends this …" at the foot of the e-mail.
	Why string
}

// maxDigestItems bounds the list; the rest are counted, and the page has them all.
const maxDigestItems = 50

// EnqueueDigestTx queues d inside tx: one e-mail per recipient when e-mail is on and one
// webhook post when Slack is on, sent after tx commits. A digest without items sends nothing.
func (n *Notifier) EnqueueDigestTx(ctx context.Context, j *jobs.Jobs, tx *sqlx.Tx, d Digest) error {
	if len(d.Items) == 0 || (!n.EmailEnabled() && !n.SlackEnabled()) {
		return nil
	}
	subject, email, slack := n.renderDigest(d)
	if n.EmailEnabled() {
		for _, to := range Addresses(d.Recipients) {
			if _, err := j.InsertTx(ctx, tx, EmailArgs{To: to, Subject: subject, Text: email}, insertOpts); err != nil {
				return err
			}
		}
	}
	if n.SlackEnabled() {
		if _, err := j.InsertTx(ctx, tx, SlackArgs{Text: slack}, insertOpts); err != nil {
			return err
		}
	}
	return nil
}

// renderDigest writes d as plain text: the subject, the e-mail body and the webhook post.
func (n *Notifier) renderDigest(d Digest) (subject, email, slack string) {
	var lines []string
	for i, it := range d.Items {
		if i == maxDigestItems {
			lines = append(lines, fmt.Sprintf("… and %d more", len(d.Items)-maxDigestItems))
			break
		}
		lines = append(lines, truncate(oneLine(it), 300))
	}
	lead := paragraph(d.Lead)
	link := n.link(Event{URL: d.URL})

	var b strings.Builder
	b.WriteString(lead + "\n\n")
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
	if link != "" {
		b.WriteString("\nSee " + link + "\n")
	}
	b.WriteString("\n-- \nPaved sends this " + oneLine(d.Why) + "\n")

	s := lead + "\n"
	for _, l := range lines {
		s += "• " + l + "\n"
	}
	if link != "" {
		s += "See " + link
	}
	return truncate(oneLine(d.Subject), maxSubject), b.String(), slackEscape(strings.TrimSpace(s))
}
