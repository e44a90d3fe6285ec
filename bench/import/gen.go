package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// The generator writes an Okta System Log as GET /api/v1/logs returns it (a JSON array, here one
// compact event per line), about a simulated organisation of M users and K app instances. Users
// and apps are drawn with Zipf-shaped popularity, so a few apps carry most sign-ins and most apps
// are a long tail, as in real logs. The mix of event types follows the discovery fixtures: two
// thirds app sign-ins, the rest Okta sign-ins, policy evaluations and token grants (all skipped
// by the parser), OAuth consents and revokes, and 3% duplicate deliveries of a recent event.

type oEvent struct {
	Actor                 oActor    `json:"actor"`
	Client                oClient   `json:"client"`
	Device                any       `json:"device"`
	AuthenticationContext oAuthCtx  `json:"authenticationContext"`
	DisplayMessage        string    `json:"displayMessage"`
	EventType             string    `json:"eventType"`
	Outcome               oOutcome  `json:"outcome"`
	Published             string    `json:"published"`
	SecurityContext       oSecurity `json:"securityContext"`
	Severity              string    `json:"severity"`
	DebugContext          oDebug    `json:"debugContext"`
	LegacyEventType       *string   `json:"legacyEventType"`
	Transaction           oTx       `json:"transaction"`
	UUID                  string    `json:"uuid"`
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
	UserAgent           oUA     `json:"userAgent"`
	Zone                string  `json:"zone"`
	Device              string  `json:"device"`
	ID                  any     `json:"id"`
	IPAddress           string  `json:"ipAddress"`
	GeographicalContext oGeoCtx `json:"geographicalContext"`
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

type genUser struct {
	id, email, name, ipPrefix, city, state, country string
}

type genApp struct {
	id, label, audience, signOn string
}

type genStats struct {
	Events   int // records written
	Emitted  int // records the parser turns into usage events (duplicates included)
	Distinct int // distinct event ids among them: what the database must hold
	Users    int
	Apps     int
}

var (
	firstNames = []string{"Alice", "Bilal", "Chen", "Dana", "Emeka", "Farah", "Gustavo", "Hana", "Ivan", "Jonas",
		"Kemi", "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Victor"}
	lastNames = []string{"Nguyen", "Okafor", "Schmidt", "Rossi", "Tanaka", "Silva", "Haddad", "Kowalski",
		"Johnson", "Dubois", "Larsen", "Moreau", "Patel", "Ivanova", "Garcia", "Kim"}
	cities = [][4]string{{"Seattle", "Washington", "US", "52.44."}, {"Austin", "Texas", "US", "66.90."},
		{"London", "England", "GB", "81.2."}, {"Berlin", "Berlin", "DE", "91.64."},
		{"Toronto", "Ontario", "CA", "99.230."}, {"Sydney", "New South Wales", "AU", "1.128."}}
	vendors = []string{"Salesforce", "Slack", "Zoom", "Atlassian", "Figma", "Workday", "Asana", "GitHub",
		"DocuSign", "Box", "Lucid", "Miro", "Notion", "Dropbox", "HubSpot", "Zendesk", "Okta", "Datadog",
		"PagerDuty", "Airtable", "Canva", "Gong", "Greenhouse", "Lattice", "Loom", "Monday", "Smartsheet"}
	userAgents = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
		"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
	}
	scopes         = []string{"openid", "profile", "email", "offline_access", "okta.users.read", "okta.apps.read"}
	failureReasons = []string{"INVALID_CREDENTIALS", "User is not assigned to this application", "VERIFICATION_ERROR"}
)

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

type generator struct {
	rng      *rand.Rand
	users    []genUser
	apps     []genApp
	clients  []string
	userZipf *rand.Zipf
	appZipf  *rand.Zipf
	cliZipf  *rand.Zipf
	t        time.Time
}

func newGenerator(seed uint64, nUsers, nApps int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: time.Date(2024, 3, 1, 7, 0, 0, 0, time.UTC)}
	for i := 0; i < nUsers; i++ {
		f, l := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
		c := cities[g.rng.IntN(len(cities))]
		g.users = append(g.users, genUser{id: "00u" + g.token(17), email: fmt.Sprintf("%s.%s%d@northwind.example", lower(f), lower(l), i),
			name: f + " " + l, city: c[0], state: c[1], country: c[2], ipPrefix: c[3]})
	}
	for i := 0; i < nApps; i++ {
		v := vendors[i%len(vendors)]
		label, host := v, lower(v)+".com"
		if i >= len(vendors) {
			label, host = fmt.Sprintf("%s %d", v, i/len(vendors)), fmt.Sprintf("%s%d.example.com", lower(v), i/len(vendors))
		}
		a := genApp{id: "0oa" + g.token(17), label: label, signOn: "SAML_2_0", audience: "https://northwind." + host}
		if i%7 == 6 { // some apps have no URL audience: keyed by their Okta app id
			a.signOn, a.audience = "OPENID_CONNECT", ""
		}
		g.apps = append(g.apps, a)
	}
	for i := 0; i < max(2, nApps/10); i++ {
		g.clients = append(g.clients, "0oa"+g.token(17))
	}
	g.userZipf = rand.NewZipf(g.rng, 1.07, 2, uint64(nUsers-1))
	g.appZipf = rand.NewZipf(g.rng, 1.1, 1, uint64(nApps-1))
	g.cliZipf = rand.NewZipf(g.rng, 1.1, 1, uint64(len(g.clients)-1))
	return g
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (g *generator) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *generator) guid() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[g.rng.IntN(16)]
		}
	}
	return string(b)
}

func (g *generator) base(eventType, message string) *oEvent {
	u := &g.users[g.userZipf.Uint64()]
	g.t = g.t.Add(time.Duration(1+g.rng.IntN(3000)) * time.Millisecond)
	ev := &oEvent{
		Actor: oActor{ID: u.id, Type: "User", AlternateID: u.email, DisplayName: u.name},
		Client: oClient{
			UserAgent: oUA{RawUserAgent: userAgents[g.rng.IntN(len(userAgents))], OS: "Mac OS X", Browser: "CHROME"},
			Zone:      "null", Device: "Computer", IPAddress: fmt.Sprintf("%s%d.%d", u.ipPrefix, g.rng.IntN(256), 1+g.rng.IntN(254)),
			GeographicalContext: oGeoCtx{City: u.city, State: u.state, Country: u.country},
		},
		AuthenticationContext: oAuthCtx{ExternalSessionID: "102" + g.token(22)},
		DisplayMessage:        message,
		EventType:             eventType,
		Outcome:               oOutcome{Result: "SUCCESS"},
		Published:             g.t.Format("2006-01-02T15:04:05.000Z"),
		Severity:              "INFO",
		DebugContext:          oDebug{DebugData: map[string]string{"requestId": g.token(27), "requestUri": "/app/sso/saml", "url": "/app/sso/saml?"}},
		Transaction:           oTx{Type: "WEB", ID: g.token(27), Detail: map[string]string{}},
		UUID:                  g.guid(),
		Version:               "0",
	}
	return ev
}

// next returns the next event and whether the parser emits it (rather than skipping it).
func (g *generator) next() (*oEvent, bool) {
	switch x := g.rng.Float64(); {
	case x < 0.66:
		app := &g.apps[g.appZipf.Uint64()]
		ev := g.base("user.authentication.sso", "User single sign on to app")
		legacy := "app.auth.sso"
		ev.LegacyEventType = &legacy
		ev.Target = []oTarget{{ID: app.id, Type: "AppInstance", AlternateID: app.label, DisplayName: app.label,
			DetailEntry: map[string]string{"signOnModeType": app.signOn}}}
		if app.audience != "" {
			ev.DebugContext.DebugData["audience"] = app.audience
		}
		if y := g.rng.Float64(); y < 0.09 {
			r := failureReasons[g.rng.IntN(len(failureReasons))]
			ev.Outcome = oOutcome{Result: "FAILURE", Reason: &r}
		} else if y < 0.12 {
			ev.Outcome = oOutcome{Result: "CHALLENGE"}
		}
		return ev, true
	case x < 0.78:
		ev := g.base("user.session.start", "User login to Okta")
		legacy := "core.user_auth.login_success"
		ev.LegacyEventType = &legacy
		return ev, false
	case x < 0.83:
		ev := g.base("policy.evaluate_sign_on", "Evaluation of sign-on policy")
		ev.Target = []oTarget{{ID: "rul" + g.token(17), Type: "Rule", AlternateID: "unknown", DisplayName: "Default Rule"}}
		return ev, false
	case x < 0.86:
		ev := g.base("app.oauth2.as.token.grant.access_token", "OAuth2 access token is granted")
		ev.Target = []oTarget{{ID: "rul" + g.token(17), Type: "Rule", AlternateID: "unknown", DisplayName: "Default Rule"}}
		return ev, false
	default:
		et, msg := "app.oauth2.as.consent.grant", "User granted consent to app"
		if x >= 0.95 {
			et, msg = "app.oauth2.as.consent.revoke", "User revoked consent to app"
		}
		ev := g.base(et, msg)
		client := g.clients[g.cliZipf.Uint64()]
		n := 1 + g.rng.IntN(3)
		start := g.rng.IntN(len(scopes) - n + 1)
		for _, s := range scopes[start : start+n] {
			ev.Target = append(ev.Target, oTarget{ID: "oag" + g.token(17), Type: "ConsentGrant", AlternateID: "unknown",
				DisplayName: s, DetailEntry: map[string]string{"publicclientapp": client}})
		}
		return ev, true
	}
}

// writeOkta writes n events as a JSON array, one event per line.
func writeOkta(w io.Writer, n, nUsers, nApps int, seed uint64) (genStats, error) {
	g := newGenerator(seed, nUsers, nApps)
	st := genStats{Events: n, Users: nUsers, Apps: nApps}
	bw := bufio.NewWriterSize(w, 1<<20)
	type rec struct {
		line []byte
		emit bool
	}
	var recent []rec // the last few records, for duplicate deliveries
	if _, err := bw.WriteString("[\n"); err != nil {
		return st, err
	}
	for i := 0; i < n; i++ {
		var r rec
		if len(recent) >= 10 && g.rng.Float64() < 0.03 {
			r = recent[len(recent)-1-g.rng.IntN(10)] // Okta delivers the same uuid twice
		} else {
			ev, emit := g.next()
			line, err := json.Marshal(ev)
			if err != nil {
				return st, err
			}
			r = rec{line: line, emit: emit}
			if emit {
				st.Distinct++
			}
			recent = append(recent, r)
			if len(recent) > 64 {
				recent = append(recent[:0], recent[len(recent)-16:]...)
			}
		}
		if r.emit {
			st.Emitted++
		}
		bw.Write(r.line)
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
