package notify

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// message is an event written out for people: an e-mail subject and body, and a webhook post.
type message struct {
	subject string
	email   string
	slack   string
}

// maxSubject keeps subject lines short enough for a phone's inbox list.
const maxSubject = 120

// render writes ev as plain text. The text of the request (title, summary, outcome) is
// flattened so it cannot break out of a header line, and escaped for Slack so it cannot
// mention @channel.
func (n *Notifier) render(ev Event) message {
	title := oneLine(ev.Title)
	quoted := `the request "` + title + `"`
	if title == "" {
		title = fmt.Sprintf("Request #%d", ev.RequestID)
		quoted = fmt.Sprintf("request #%d", ev.RequestID)
	}
	outcome := strings.ReplaceAll(oneLine(ev.Outcome), "_", " ")

	var subject, lead string
	switch ev.Kind {
	case Submitted:
		subject = "New request: " + title
		lead = upperFirst(quoted) + " was submitted and is waiting for review."
	case ReviewDone:
		subject = "Security review done: " + title
		lead = "Security finished reviewing " + quoted + "."
		if outcome != "" {
			lead += " Their recommendation: " + outcome + "."
		}
	case VoteOpened:
		subject = "Vote open: " + title
		lead = "The committee vote on " + quoted + " is open."
	case Decided:
		subject = "Decided: " + title
		lead = upperFirst(quoted) + " was decided"
		if outcome != "" {
			subject += " (" + outcome + ")"
			lead += ": " + outcome
		}
		lead += "."
	case AccessRemoved:
		subject = "Your access to " + title + " was removed"
		lead = "Security removed your access to " + title + " at the company's identity provider."
	}
	summary := paragraph(ev.Summary)
	link := n.link(ev)

	var email strings.Builder
	email.WriteString(lead + "\n")
	if summary != "" {
		email.WriteString("\n" + summary + "\n")
	}
	if link != "" {
		email.WriteString("\nSee " + link + "\n")
	}
	footer := "Paved sends this because you take part in this request."
	if ev.Kind == AccessRemoved {
		footer = "Paved sends this because security changed your access to an app."
	}
	email.WriteString("\n-- \n" + footer + "\n")

	slack := lead
	if summary != "" {
		slack += "\n" + summary
	}
	if link != "" {
		slack += "\nSee " + link
	}
	return message{subject: truncate(subject, maxSubject), email: email.String(), slack: slackEscape(slack)}
}

// link is the absolute URL of the event's request page, or "" when there is none to give.
func (n *Notifier) link(ev Event) string {
	base := strings.TrimSuffix(n.cfg.BaseURL, "/")
	u := oneLine(ev.URL)
	switch {
	case u == "" && ev.RequestID > 0 && base != "":
		return fmt.Sprintf("%s/requests/%d", base, ev.RequestID)
	case strings.HasPrefix(u, "/") && base != "":
		return base + u
	case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"):
		return u
	}
	return ""
}

// oneLine collapses every run of white space and control characters (line breaks included)
// into one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
}

// paragraph keeps the line breaks of s (as \n, at most one blank line in a row) and drops
// other control characters.
func paragraph(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = oneLine(l)
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// truncate shortens s to at most max runes, ending with an ellipsis when cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// slackEscape escapes the three characters Slack gives meaning to, so "<!channel>" in a title
// is shown, not obeyed (https://api.slack.com/reference/surfaces/formatting#escaping).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
