package fixturegen

import (
	"encoding/csv"
	"fmt"
	"strings"
	"time"
)

// HashID is written as the expected SourceEventID of CSV rows without an id column: the parser
// keys them by a hash of the normalised row, which the generator does not recompute; the test
// checks the prefix and that equal rows get equal keys (distinct_event_ids).
const HashID = "row:"

type csvApp struct {
	name, url, host, canon string
}

func (a *csvApp) key() string {
	if a.host != "" {
		return "domain:" + a.host
	}
	return "name:" + a.canon
}

var proxyApps = []csvApp{
	{name: "Salesforce.com, Inc.", url: "https://northwind.lightning.force.com/lightning/page/home", host: "northwind.lightning.force.com"},
	{name: "slack.com", url: "https://app.slack.com/client/T0123ABCD", host: "app.slack.com"},
	{name: "Zoom", url: "https://us02web.zoom.us/j/84512345678", host: "us02web.zoom.us"},
	{name: "ChatGPT", url: "https://chat.openai.com/", host: "chat.openai.com"},
	{name: "Krisp", url: "https://app.krisp.ai/", host: "app.krisp.ai"},
	{name: "Otter.ai", url: "https://otter.ai/home", host: "otter.ai"},
	{name: "Dropbox, Inc.", url: "https://www.dropbox.com/home", host: "dropbox.com"},
	{name: "Canva", url: "https://www.canva.com/design/DAF", host: "canva.com"},
	{name: "monday.com", url: "https://northwind.monday.com/boards/1", host: "northwind.monday.com"},
	{name: "Miro", canon: "miro"},
	{name: "Notion", url: "notion.so", host: "notion.so"},
	{name: "WeTransfer", url: "https://wetransfer.com:443/", host: "wetransfer.com"},
}

var casbApps = []csvApp{
	{name: "Salesforce", url: "salesforce.com", host: "salesforce.com"},
	{name: "Slack Technologies", url: "slack.com", host: "slack.com"},
	{name: "Box", url: "https://www.box.com/", host: "box.com"},
	{name: "Grammarly Inc.", canon: "grammarly"},
	{name: "Calendly LLC", canon: "calendly"},
	{name: "SurveyMonkey", url: "www.surveymonkey.com", host: "surveymonkey.com"},
	{name: "DeepL SE", canon: "deepl"},
	{name: "Trello (Atlassian)", canon: "trello"},
}

func (g *gen) csv() []genFile {
	var out []genFile

	// 1. A web proxy's export: comma-separated, no id column, an action instead of an outcome.
	d := &doc{}
	t := newTally("csv", "csv/proxy_log.csv", "web proxy export: comma-separated, url column, no id column", 11)
	var buf strings.Builder
	cw := csv.NewWriter(&buf)
	write := func(row []string) {
		_ = cw.Write(row)
		cw.Flush()
		d.str(buf.String())
		buf.Reset()
	}
	write([]string{"timestamp", "user_email", "app_name", "url", "action", "src_ip", "user_agent"})
	c := g.clock(36 * time.Hour)
	var prev []string
	var prevExp Event
	for i := 0; i < 200; i++ {
		line := d.line()
		if prev != nil && g.chance(0.03) { // the same request logged twice
			write(prev)
			t.emitKeyed(prevExp, strings.Join(prev, "\x00"))
			continue
		}
		p := g.person()
		a := &proxyApps[g.pick(len(proxyApps))]
		tm := c.next(time.Second)
		action, outcome := "allowed", "success"
		if g.chance(0.08) {
			action, outcome = "blocked", "failure"
		}
		ua := userAgents[g.rng.IntN(len(userAgents))]
		row := []string{tm.Format(time.RFC3339), p.email, a.name, a.url, action, g.ip(p), ua}
		switch i % 67 {
		case 13:
			row[1] = "" // no user: the proxy saw an unauthenticated request
		case 40:
			row[2] = " "
		}
		write(row)
		if row[1] == "" || strings.TrimSpace(row[2]) == "" {
			t.reject(line)
			continue
		}
		exp := Event{SourceEventID: HashID, OccurredAt: rfc(tm), UserEmail: p.email, AppKey: a.key(), AppName: a.name,
			Domain: a.host, Kind: "sso_login", Outcome: outcome, IP: row[5], UserAgent: ua}
		// Rows without an id are keyed by their content: a duplicate shares its original's key.
		t.emitKeyed(exp, strings.Join(row, "\x00"))
		prev, prevExp = row, exp
	}
	out = append(out, t.files(d.bytes())...)

	// 2. A CASB export: semicolon-separated, other header names, grants and revokes, an id column,
	// day-first dates (refused when ambiguous), usernames that are not e-mails, short rows.
	d = &doc{}
	t = newTally("csv", "csv/casb_export.csv", "CASB export: semicolon-separated, event id column, grants and revokes, day-first dates", 7)
	cw = csv.NewWriter(&buf)
	cw.Comma = ';'
	write([]string{"Date", "Username", "Application", "Domain", "Event Type", "Result", "Scopes", "Event ID"})
	c = g.clock(60 * time.Hour)
	for i := 0; i < 150; i++ {
		line := d.line()
		p := g.person()
		a := &casbApps[g.pick(len(casbApps))]
		tm := c.next(time.Second)
		id := fmt.Sprintf("evt-%06d", 1000+i*7)
		user, email, userID := p.email, p.email, ""
		if g.chance(0.1) {
			user = strings.ToLower(p.first[:1] + p.last)
			email, userID = "", user
		}
		date, ok := tm.Format("2006-01-02 15:04:05"), true
		want := tm
		if g.chance(0.2) {
			want = tm.Truncate(time.Minute)
			date = want.Format("02/01/2006 15:04")
			ok = !(want.Day() <= 12 && int(want.Month()) != want.Day())
		}
		kind, evType := "sso_login", "login"
		var scopes []string
		switch x := g.rng.Float64(); {
		case x < 0.2:
			kind, evType = "oauth_grant", "oauth_grant"
			scopes = []string{"files.read", "offline_access"}
		case x < 0.26:
			kind, evType = "oauth_revoke", "oauth_revoke"
		}
		result, outcome := "Success", "success"
		switch x := g.rng.Float64(); {
		case x < 0.07:
			result, outcome = "Failed", "failure"
		case x < 0.12:
			result, outcome = "", "unknown"
		}
		row := []string{date, user, a.name, a.url, evType, result, strings.Join(scopes, ","), id}
		if i%60 == 45 {
			row = row[:2] // a row cut short: no app
			ok = false
		}
		write(row)
		if !ok {
			t.reject(line)
			continue
		}
		t.emit(Event{SourceEventID: id, OccurredAt: rfc(want), UserEmail: email, UserID: userID, AppKey: a.key(),
			AppName: a.name, Domain: a.host, Kind: kind, Outcome: outcome, Scopes: scopes})
	}
	out = append(out, t.files(d.bytes())...)
	return out
}
