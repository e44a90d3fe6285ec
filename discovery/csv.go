package discovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVParser reads usage logs from anywhere else (a proxy, a CASB, an expense export): a CSV file
// whose header row names at least a time, a user and an app column. Header names are matched
// case-insensitively ignoring spaces and punctuation, with synonyms:
//
//	time     time, timestamp, datetime, date, date (utc), event time, occurred at, created at, published
//	user     email, user email, e-mail address, mail, user, username, user principal name, upn, login, actor
//	app      app, application, app name, application name, app display name, service, saas app, cloud app
//
// and optional columns: domain (domain, url, host, hostname, website, site, destination), id
// (id, event id, request id, uuid), outcome (outcome, status, result, action), ip, user agent,
// kind (kind, event type, type), failure reason, client id, scopes, user id. The delimiter (comma,
// semicolon, tab or pipe) is sniffed from the header. A row with an empty time, user or app is
// rejected with its line number.
//
// AppKey is domain:<host> when the row has a domain or URL, else name:<normalised app>. The
// SourceEventID is the id column when there is one, else "row:" and a hash of the normalised row
// (so two identical rows are one event). Outcome is unknown without an outcome column; kind is
// sso_login unless a kind column says grant or revoke.
type CSVParser struct{}

// Format implements Parser.
func (*CSVParser) Format() string { return FormatCSV }

type genericCols struct {
	time, user, app                                          int
	domain, id, outcome, ip, ua, kind, reason, client, scope int
	userID                                                   int
	names                                                    []string
}

var (
	csvTimeNames   = []string{"time", "timestamp", "datetime", "date", "dateutc", "eventtime", "occurredat", "createdat", "createddatetime", "published", "when", "logtime"}
	csvUserNames   = []string{"email", "useremail", "emailaddress", "mail", "user", "username", "userprincipalname", "upn", "login", "actor", "account", "principal"}
	csvAppNames    = []string{"app", "application", "appname", "applicationname", "appdisplayname", "service", "servicename", "saas", "saasapp", "cloudapp", "cloudapplication"}
	csvDomainNames = []string{"domain", "appdomain", "url", "host", "hostname", "website", "site", "destination", "destinationhost", "fqdn"}
)

// genericCSVColumns maps a header row to roles; the error names the first missing one.
func genericCSVColumns(header []string) (genericCols, error) {
	sq := make([]string, len(header))
	for i, h := range header {
		sq[i] = squash(h)
	}
	taken := map[int]bool{}
	c := genericCols{names: header}
	c.time = column(sq, taken, csvTimeNames...)
	c.user = column(sq, taken, csvUserNames...)
	c.app = column(sq, taken, csvAppNames...)
	var missing []string
	if c.time < 0 {
		missing = append(missing, "time (a column named time, timestamp, date, …)")
	}
	if c.user < 0 {
		missing = append(missing, "user (a column named user, email, username, …)")
	}
	if c.app < 0 {
		missing = append(missing, "app (a column named app, application, app_name, …)")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("no %s column in the header", strings.Join(missing, ", no "))
	}
	c.domain = column(sq, taken, csvDomainNames...)
	c.id = column(sq, taken, "id", "eventid", "requestid", "uuid", "recordid")
	c.outcome = column(sq, taken, "outcome", "status", "result", "action")
	c.ip = column(sq, taken, "ip", "ipaddress", "clientip", "sourceip", "srcip")
	c.ua = column(sq, taken, "useragent", "ua")
	c.kind = column(sq, taken, "kind", "eventtype", "type", "event")
	c.reason = column(sq, taken, "failurereason", "reason", "error", "errormessage")
	c.client = column(sq, taken, "clientid", "appid", "applicationid")
	c.scope = column(sq, taken, "scopes", "scope")
	c.userID = column(sq, taken, "userid")
	return c, nil
}

// Parse implements Parser.
func (p *CSVParser) Parse(ctx context.Context, r io.Reader, emit func(UsageEvent) error, reject func(Rejection) error) (Stats, error) {
	in, err := prepare(FormatCSV, r)
	if err != nil {
		return Stats{}, err
	}
	if b := in.firstByte(); b == '{' || b == '[' {
		return Stats{}, in.wrongFormat(1, nil, "this is JSON, not CSV")
	}
	cs, err := newCSVStream(in)
	if err != nil {
		return Stats{}, err
	}
	cols, err := genericCSVColumns(cs.header)
	if err != nil {
		return Stats{}, in.wrongFormat(cs.headerLine(), nil, err.Error())
	}
	s := newSink(ctx, emit, reject)
	for {
		row, line, bad, err := cs.next()
		if errors.Is(err, io.EOF) {
			return s.stats, nil
		}
		if err != nil {
			return s.stats, err
		}
		if bad != nil {
			err = s.rejected(line, nil, "%v", bad)
		} else if e, why := cols.event(row); why != "" {
			err = s.rejected(line, cs.rowText(row), "%s", why)
		} else {
			err = s.emitted(e)
		}
		if err != nil {
			return s.stats, err
		}
	}
}

func (c *genericCols) event(row []string) (UsageEvent, string) {
	e := UsageEvent{Source: SourceCSV, Kind: KindSSOLogin, Outcome: OutcomeUnknown}
	if rowHasNUL(row) {
		return e, "the row holds binary data"
	}
	for _, req := range []struct {
		col  int
		role string
	}{{c.time, "time"}, {c.user, "user"}, {c.app, "app"}} {
		if field(row, req.col) == "" {
			if req.col >= len(row) {
				return e, fmt.Sprintf("missing %s: the row has %d fields, the header %d", req.role, len(row), len(c.names))
			}
			return e, fmt.Sprintf("missing %s (column %q is empty)", req.role, c.names[req.col])
		}
	}
	t, err := parseTime(field(row, c.time))
	if err != nil {
		return e, fmt.Sprintf("%s: %v", c.names[c.time], err)
	}
	e.OccurredAt = t
	user := field(row, c.user)
	e.UserEmail = normalizeEmail(user)
	e.UserID = field(row, c.userID)
	if e.UserEmail == "" && e.UserID == "" {
		e.UserID = user
	}
	e.AppName = field(row, c.app)
	if d := field(row, c.domain); d != "" {
		e.Domain = normalizeHost(d)
	}
	e.ClientID = field(row, c.client)
	e.AppKey = appKey(e.AppName, KeyDomain, e.Domain)
	if e.AppKey == "" {
		return e, fmt.Sprintf("app %q has no letters or digits", clip(e.AppName))
	}
	if k := strings.ToLower(field(row, c.kind)); k != "" {
		switch {
		case strings.Contains(k, "revoke"):
			e.Kind = KindOAuthRevoke
		case strings.Contains(k, "grant") || strings.Contains(k, "consent") || strings.Contains(k, "authorize"):
			e.Kind = KindOAuthGrant
		}
	}
	e.Outcome = outcomeWord(field(row, c.outcome))
	if e.Outcome != OutcomeSuccess {
		e.FailureReason = field(row, c.reason)
	}
	e.IP = field(row, c.ip)
	e.UserAgent = field(row, c.ua)
	if s := field(row, c.scope); s != "" {
		e.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' })
	}
	if id := field(row, c.id); id != "" {
		e.SourceEventID = id
	} else {
		e.SourceEventID = rowHash(&e)
	}
	return e, ""
}

// outcomeWord reads a free-text outcome ("Success", "blocked", "200", …).
func outcomeWord(s string) Outcome {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "success", "succeeded", "successful", "ok", "allow", "allowed", "pass", "passed", "true", "200", "0":
		return OutcomeSuccess
	case "failure", "failed", "fail", "denied", "deny", "blocked", "block", "error", "false", "401", "403":
		return OutcomeFailure
	case "interrupted", "challenge", "challenged", "mfa required":
		return OutcomeInterrupted
	}
	return OutcomeUnknown
}

// rowHash is the idempotency key of a CSV row without an id: a hash of its normalised fields, so
// the same row re-exported (re-quoted, re-ordered columns, other time layout) keeps its key.
func rowHash(e *UsageEvent) string {
	h := sha256.New()
	for _, f := range []string{
		e.OccurredAt.UTC().Format("2006-01-02T15:04:05.999999999Z"), e.UserEmail, e.UserID, e.AppKey,
		NormalizeAppName(e.AppName), string(e.Kind), string(e.Outcome), e.IP, e.UserAgent, e.ClientID,
		strings.Join(e.Scopes, " "),
	} {
		h.Write([]byte(f))
		h.Write([]byte{0x1f})
	}
	return "row:" + hex.EncodeToString(h.Sum(nil)[:16])
}
