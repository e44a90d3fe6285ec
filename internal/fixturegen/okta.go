package fixturegen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Okta System Log events as GET /api/v1/logs returns them (field order as Okta writes it).
type oEvent struct {
	Actor                 *oActor   `json:"actor"`
	Client                oClient   `json:"client"`
	Device                any       `json:"device"`
	AuthenticationContext oAuthCtx  `json:"authenticationContext"`
	DisplayMessage        string    `json:"displayMessage"`
	EventType             string    `json:"eventType"`
	Outcome               oOutcome  `json:"outcome"`
	Published             any       `json:"published"`
	SecurityContext       oSecurity `json:"securityContext"`
	Severity              string    `json:"severity"`
	DebugContext          oDebug    `json:"debugContext"`
	LegacyEventType       *string   `json:"legacyEventType"`
	Transaction           oTx       `json:"transaction"`
	UUID                  string    `json:"uuid,omitempty"`
	Version               string    `json:"version"`
	Target                []oTarget `json:"target"`
}

type oActor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
	DetailEntry any    `json:"detailEntry"`
}

type oClient struct {
	UserAgent           *oUA     `json:"userAgent"`
	Zone                string   `json:"zone"`
	Device              string   `json:"device"`
	ID                  any      `json:"id"`
	IPAddress           string   `json:"ipAddress"`
	GeographicalContext *oGeoCtx `json:"geographicalContext"`
}

type oUA struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

type oGeoCtx struct {
	City       string `json:"city"`
	State      string `json:"state"`
	Country    string `json:"country"`
	PostalCode any    `json:"postalCode"`
}

type oAuthCtx struct {
	AuthenticationProvider any    `json:"authenticationProvider"`
	CredentialProvider     any    `json:"credentialProvider"`
	CredentialType         any    `json:"credentialType"`
	Issuer                 any    `json:"issuer"`
	AuthenticationStep     int    `json:"authenticationStep"`
	ExternalSessionID      string `json:"externalSessionId"`
	Interface              any    `json:"interface"`
}

type oOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

type oSecurity struct {
	AsNumber any  `json:"asNumber"`
	AsOrg    any  `json:"asOrg"`
	ISP      any  `json:"isp"`
	Domain   any  `json:"domain"`
	IsProxy  bool `json:"isProxy"`
}

type oDebug struct {
	DebugData map[string]string `json:"debugData"`
}

type oTx struct {
	Type   string            `json:"type"`
	ID     string            `json:"id"`
	Detail map[string]string `json:"detail"`
}

type oTarget struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	AlternateID string            `json:"alternateId"`
	DisplayName string            `json:"displayName"`
	DetailEntry map[string]string `json:"detailEntry"`
}

// oktaApp is an app instance in the simulated Okta org. host is what a parser must take from
// the SAML audience (empty when the audience is not a URL or there is none).
type oktaApp struct {
	label, audience, host, id, signOn string
}

func (a *oktaApp) key() string {
	if a.host != "" {
		return "domain:" + a.host
	}
	return "okta:" + a.id
}

type oktaClient struct{ id string }

func (g *gen) oktaApps() []oktaApp {
	apps := []oktaApp{
		{label: "Salesforce.com", audience: "https://northwind.my.salesforce.com", host: "northwind.my.salesforce.com"},
		{label: "Slack", audience: "https://northwind.slack.com", host: "northwind.slack.com"},
		{label: "Zoom", audience: "https://northwind.zoom.us", host: "northwind.zoom.us"},
		{label: "Atlassian Cloud", audience: "https://northwind.atlassian.net", host: "northwind.atlassian.net"},
		{label: "Figma", audience: "https://www.figma.com/saml/1234567890", host: "figma.com"},
		{label: "Amazon Web Services", audience: "urn:amazon:webservices"},
		{label: "Dropbox Business", signOn: "BROWSER_PLUGIN"},
		{label: "Workday", audience: "http://www.workday.com", host: "workday.com"},
		{label: "Asana (Production)", audience: "https://app.asana.com", host: "app.asana.com"},
		{label: "GitHub Enterprise Cloud", audience: "https://github.com/orgs/northwind", host: "github.com"},
		{label: "Northwind Intranet", signOn: "OPENID_CONNECT"},
		{label: "DocuSign", audience: "https://account.docusign.com", host: "account.docusign.com"},
		{label: "Box", signOn: "OPENID_CONNECT"},
		{label: "Lucidchart", audience: "https://lucid.app/saml/sso/northwind", host: "lucid.app"},
		{label: "Miro SSO", audience: "https://miro.com/sso/saml", host: "miro.com"},
	}
	for i := range apps {
		apps[i].id = "0oa" + g.token(17)
		if apps[i].signOn == "" {
			apps[i].signOn = "SAML_2_0"
		}
	}
	return apps
}

var oktaScopes = []string{"openid", "profile", "email", "offline_access", "okta.users.read",
	"okta.apps.read", "okta.groups.read", "okta.logs.read"}

var oktaFailureReasons = []string{"INVALID_CREDENTIALS", "User is not assigned to this application",
	"VERIFICATION_ERROR", "Sign-on policy denied access"}

// oktaRec is one generated System Log event and what a parser must make of it.
type oktaRec struct {
	ev     *oEvent
	exp    *Event // nil when the event is skipped or rejected
	reject bool
}

type oktaWorld struct {
	g       *gen
	apps    []oktaApp
	clients []oktaClient
	clock   *clock
	history []oktaRec
	n       int
	// dup is true when next returned a duplicate delivery of an earlier record.
	dup bool
	// appZipf and clientZipf, when set, draw apps and OAuth clients for large organisations.
	appZipf, clientZipf *rand.Zipf
}

func (g *gen) newOktaWorld(offset time.Duration) *oktaWorld {
	w := &oktaWorld{g: g, apps: g.oktaApps(), clock: g.clock(offset)}
	for i := 0; i < 6; i++ {
		w.clients = append(w.clients, oktaClient{id: "0oa" + g.token(17)})
	}
	return w
}

// next returns the next event of a realistic stream: mostly app sign-ins, with Okta sign-ins,
// policy evaluations, token issues (all skipped), consents and revokes, failures, duplicates
// (the same uuid delivered twice) and, when withBad, now and then a broken record.
func (w *oktaWorld) next(withBad bool) oktaRec {
	g := w.g
	w.n++
	w.dup = false
	if len(w.history) > 10 && g.chance(0.03) {
		w.dup = true
		return w.history[len(w.history)-1-g.rng.IntN(10)] // a duplicate delivery
	}
	var rec oktaRec
	if withBad && w.n%41 == 20 {
		rec = w.broken(w.n / 41 % 4)
	} else {
		x := g.rng.Float64()
		switch {
		case x < 0.66:
			rec = w.sso()
		case x < 0.78:
			rec = w.skipped("user.session.start", "User login to Okta")
		case x < 0.83:
			rec = w.skipped("policy.evaluate_sign_on", "Evaluation of sign-on policy")
		case x < 0.86:
			rec = w.skipped("app.oauth2.as.token.grant.access_token", "OAuth2 access token is granted")
		case x < 0.95:
			rec = w.consent("app.oauth2.as.consent.grant", "User granted consent to app", "oauth_grant")
		default:
			rec = w.consent("app.oauth2.as.consent.revoke", "User revoked consent to app", "oauth_revoke")
		}
	}
	w.history = append(w.history, rec)
	return rec
}

func (w *oktaWorld) pickApp() int {
	if w.appZipf != nil {
		return int(w.appZipf.Uint64())
	}
	return w.g.pick(len(w.apps))
}

func (w *oktaWorld) pickClient() int {
	if w.clientZipf != nil {
		return int(w.clientZipf.Uint64())
	}
	return w.g.pick(len(w.clients))
}

func (w *oktaWorld) base(p *person, eventType, message string) (*oEvent, time.Time) {
	g := w.g
	t := w.clock.next(time.Millisecond)
	ua := userAgents[g.rng.IntN(len(userAgents))]
	ev := &oEvent{
		Actor: &oActor{ID: p.oktaID, Type: "User", AlternateID: p.email, DisplayName: p.first + " " + p.last},
		Client: oClient{
			UserAgent: &oUA{RawUserAgent: ua, OS: "Mac OS X", Browser: "CHROME"},
			Zone:      "null", Device: "Computer", IPAddress: g.ip(p),
			GeographicalContext: &oGeoCtx{City: p.city.name, State: p.city.state, Country: p.city.cc},
		},
		AuthenticationContext: oAuthCtx{AuthenticationStep: 0, ExternalSessionID: "102" + g.token(22)},
		DisplayMessage:        message,
		EventType:             eventType,
		Outcome:               oOutcome{Result: "SUCCESS"},
		Published:             t.Format("2006-01-02T15:04:05.000Z"),
		Severity:              "INFO",
		DebugContext:          oDebug{DebugData: map[string]string{"requestId": g.token(27), "requestUri": "/app/sso/saml", "url": "/app/sso/saml?"}},
		Transaction:           oTx{Type: "WEB", ID: g.token(27), Detail: map[string]string{}},
		UUID:                  g.guid(),
		Version:               "0",
	}
	if g.chance(0.3) {
		ev.Client.Zone = "Corporate VPN"
	}
	return ev, t
}

// actor fills the expected user fields, sometimes writing the address in mixed case or (as Okta
// does for some directories) an opaque login instead of an e-mail.
func (w *oktaWorld) actor(ev *oEvent, p *person, exp *Event) {
	g := w.g
	exp.UserID = p.oktaID
	switch x := g.rng.Float64(); {
	case x < 0.05:
		ev.Actor.AlternateID = strings.ToLower(p.first[:1] + p.last)
	case x < 0.15:
		ev.Actor.AlternateID = p.first + "." + p.last + "@Northwind.example"
		exp.UserEmail = lower(ev.Actor.AlternateID)
	default:
		exp.UserEmail = p.email
	}
}

func (w *oktaWorld) sso() oktaRec {
	g := w.g
	p := g.person()
	app := &w.apps[w.pickApp()]
	ev, t := w.base(p, "user.authentication.sso", "User single sign on to app")
	legacy := "app.auth.sso"
	ev.LegacyEventType = &legacy
	ev.Target = []oTarget{{ID: app.id, Type: "AppInstance", AlternateID: app.label, DisplayName: app.label,
		DetailEntry: map[string]string{"signOnModeType": app.signOn}}}
	if app.audience != "" {
		ev.DebugContext.DebugData["audience"] = app.audience
	}
	exp := &Event{
		SourceEventID: ev.UUID, OccurredAt: rfc(t), AppKey: app.key(), AppName: app.label,
		ClientID: app.id, Domain: app.host, Kind: "sso_login", Outcome: "success",
		IP: ev.Client.IPAddress, UserAgent: ev.Client.UserAgent.RawUserAgent,
	}
	w.actor(ev, p, exp)
	switch x := g.rng.Float64(); {
	case x < 0.09:
		reason := oktaFailureReasons[g.rng.IntN(len(oktaFailureReasons))]
		ev.Outcome = oOutcome{Result: "FAILURE", Reason: &reason}
		exp.Outcome, exp.FailureReason = "failure", reason
	case x < 0.11:
		reason := "Access denied by app sign-on policy"
		ev.Outcome = oOutcome{Result: "DENY", Reason: &reason}
		exp.Outcome, exp.FailureReason = "failure", reason
	case x < 0.14:
		ev.Outcome = oOutcome{Result: "CHALLENGE"}
		exp.Outcome = "interrupted"
	case x < 0.15:
		ev.Outcome = oOutcome{Result: "UNKNOWN"}
		exp.Outcome = "unknown"
	}
	return oktaRec{ev: ev, exp: exp}
}

func (w *oktaWorld) skipped(eventType, message string) oktaRec {
	g := w.g
	p := g.person()
	ev, _ := w.base(p, eventType, message)
	if eventType == "user.session.start" {
		ev.Target = nil // Okta writes "target": null here
		legacy := "core.user_auth.login_success"
		ev.LegacyEventType = &legacy
		if g.chance(0.2) {
			reason := "INVALID_CREDENTIALS"
			ev.Outcome = oOutcome{Result: "FAILURE", Reason: &reason}
		}
	} else {
		ev.Target = []oTarget{{ID: "rul" + g.token(17), Type: "Rule", AlternateID: "unknown", DisplayName: "Default Rule"}}
	}
	return oktaRec{ev: ev}
}

func (w *oktaWorld) consent(eventType, message, kind string) oktaRec {
	g := w.g
	p := g.person()
	client := w.clients[w.pickClient()]
	ev, t := w.base(p, eventType, message)
	n := 1 + g.rng.IntN(3)
	start := g.rng.IntN(len(oktaScopes) - n + 1)
	exp := &Event{
		SourceEventID: ev.UUID, OccurredAt: rfc(t), AppKey: "okta-client:" + client.id,
		ClientID: client.id, Kind: kind, Outcome: "success", IP: ev.Client.IPAddress,
		UserAgent: ev.Client.UserAgent.RawUserAgent,
	}
	for _, s := range oktaScopes[start : start+n] {
		ev.Target = append(ev.Target, oTarget{ID: "oag" + g.token(17), Type: "ConsentGrant", AlternateID: "unknown",
			DisplayName: s, DetailEntry: map[string]string{"publicclientapp": client.id}})
		exp.Scopes = append(exp.Scopes, s)
	}
	w.actor(ev, p, exp)
	return oktaRec{ev: ev, exp: exp}
}

// broken returns one of the malformed records a real export can hold.
func (w *oktaWorld) broken(kind int) oktaRec {
	rec := w.sso()
	switch kind {
	case 0: // an app sign-in that names no app
		rec.ev.Target = nil
	case 1: // an impossible time
		rec.ev.Published = "2024-02-30T25:61:00.000Z"
	case 2: // no uuid: no idempotency key
		rec.ev.UUID = ""
	case 3: // a field of the wrong type
		rec.ev.Published = 1709648551123
	}
	return oktaRec{ev: rec.ev, reject: true}
}

func (t *tally) oktaRecord(r oktaRec, line int) {
	switch {
	case r.reject:
		t.reject(line)
	case r.exp == nil:
		t.skip()
	default:
		t.emit(*r.exp)
	}
}

func (g *gen) okta() []genFile {
	var out []genFile

	// 1. A saved API page: a JSON array, pretty-printed, records spanning many lines.
	w := g.newOktaWorld(0)
	d := &doc{}
	t := newTally("okta", "okta/logs_page_pretty.json", "JSON array as returned by GET /api/v1/logs, indented", 7)
	d.str("[\n")
	for i := 0; i < 60; i++ {
		if i > 0 {
			d.str(",\n")
		}
		r := w.next(true)
		d.str("  ")
		t.oktaRecord(r, d.line())
		d.write(mustIndent(r.ev, "  "))
	}
	d.str("\n]\n")
	out = append(out, t.files(d.bytes())...)

	// 2. Several pages' worth as one compact array, one event per line.
	w = g.newOktaWorld(48 * time.Hour)
	d = &doc{}
	t = newTally("okta", "okta/logs_array.json", "JSON array, one compact event per line", 11)
	d.str("[\n")
	for i := 0; i < 180; i++ {
		r := w.next(true)
		t.oktaRecord(r, d.line())
		d.write(mustJSON(r.ev))
		if i < 179 {
			d.str(",")
		}
		d.str("\n")
	}
	d.str("]\n")
	out = append(out, t.files(d.bytes())...)

	// 3. One event per line (NDJSON), e.g. from a log shipper.
	w = g.newOktaWorld(120 * time.Hour)
	d = &doc{}
	t = newTally("okta", "okta/logs.ndjson", "one event object per line (NDJSON)", 11)
	for i := 0; i < 180; i++ {
		r := w.next(true)
		t.oktaRecord(r, d.line())
		d.write(mustJSON(r.ev))
		d.str("\n")
	}
	out = append(out, t.files(d.bytes())...)
	return out
}

// WriteOkta writes n Okta System Log events as one JSON array with an event per line, for
// benchmarks. Every event is well-formed; the mix of event types is the fixtures'.
func WriteOkta(wr io.Writer, n int, seed uint64) error {
	g := newGenSeed(seed)
	w := g.newOktaWorld(0)
	bw := bufio.NewWriterSize(wr, 1<<20)
	if _, err := bw.WriteString("[\n"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		r := w.next(false)
		if len(w.history) > 64 {
			w.history = w.history[len(w.history)-16:]
		}
		if _, err := bw.Write(mustJSON(r.ev)); err != nil {
			return err
		}
		sep := ",\n"
		if i == n-1 {
			sep = "\n"
		}
		if _, err := bw.WriteString(sep); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprint(bw, "]\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// OktaStats says what WriteOktaOrg wrote.
type OktaStats struct {
	Events   int // records written
	Emitted  int // records a parser turns into usage events (duplicates included)
	Distinct int // distinct event ids among them: what the database must hold
	Users    int
	Apps     int
}

// benchVendors name the app instances a benchmark organisation has beyond the curated ones.
var benchVendors = []string{"Notion", "Linear", "Airtable", "HubSpot", "Zendesk", "Intercom", "Datadog",
	"PagerDuty", "Sentry", "Greenhouse", "Gusto", "Expensify", "Loom", "Calendly", "Canva", "Webflow",
	"Smartsheet", "Monday", "ClickUp", "Trello", "Bitbucket", "Snowflake", "Looker", "Tableau"}

// WriteOktaOrg writes n well-formed Okta System Log events as one JSON array with an event per
// line, about an organisation of users people and apps app instances (at least 2 of each), with
// the fixtures' mix of event types and duplicate deliveries. People and apps are drawn with
// Zipf-shaped popularity, so a few apps carry most sign-ins and most are a long tail, as in real
// logs. The import benchmark uses it; the stats say what a correct import must find.
func WriteOktaOrg(wr io.Writer, n, users, apps int, seed uint64) (OktaStats, error) {
	st := OktaStats{Events: n, Users: users, Apps: apps}
	if users < 2 || apps < 2 {
		return st, fmt.Errorf("an organisation needs at least 2 people and 2 apps")
	}
	g := newGenSeed(seed)
	g.people = g.people[:0]
	for i := 0; i < users; i++ {
		f, l := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
		g.people = append(g.people, person{first: f, last: l, email: fmt.Sprintf("%s.%s%d@%s", lower(f), lower(l), i, orgDomain),
			oktaID: "00u" + g.token(17), city: cities[g.rng.IntN(len(cities))]})
	}
	g.zipf = rand.NewZipf(g.rng, 1.07, 2, uint64(users-1))
	w := g.newOktaWorld(0)
	curated := w.apps
	w.apps = w.apps[:0:0]
	for i := 0; i < apps; i++ {
		if i < len(curated) {
			w.apps = append(w.apps, curated[i])
			continue
		}
		k := i - len(curated)
		v := benchVendors[k%len(benchVendors)]
		host := fmt.Sprintf("northwind.%s%d.example.com", lower(v), k/len(benchVendors))
		a := oktaApp{label: fmt.Sprintf("%s %d", v, k/len(benchVendors)), id: "0oa" + g.token(17), signOn: "SAML_2_0", audience: "https://" + host, host: host}
		if k%7 == 6 { // some apps have no URL audience: keyed by their Okta app id
			a.signOn, a.audience, a.host = "OPENID_CONNECT", "", ""
		}
		w.apps = append(w.apps, a)
	}
	for len(w.clients) < max(2, apps/10) {
		w.clients = append(w.clients, oktaClient{id: "0oa" + g.token(17)})
	}
	w.appZipf = rand.NewZipf(g.rng, 1.1, 1, uint64(len(w.apps)-1))
	w.clientZipf = rand.NewZipf(g.rng, 1.1, 1, uint64(len(w.clients)-1))

	bw := bufio.NewWriterSize(wr, 1<<20)
	bw.WriteString("[\n")
	for i := 0; i < n; i++ {
		r := w.next(false)
		if len(w.history) > 64 {
			w.history = append(w.history[:0], w.history[len(w.history)-16:]...)
		}
		if r.exp != nil {
			st.Emitted++
			if !w.dup {
				st.Distinct++
			}
		}
		bw.Write(mustJSON(r.ev))
		if i < n-1 {
			bw.WriteString(",\n")
		} else {
			bw.WriteString("\n")
		}
	}
	if _, err := bw.WriteString("]\n"); err != nil {
		return st, err
	}
	return st, bw.Flush()
}
