package fixturegen

import (
	"strconv"
	"strings"
	"time"
)

// Google Workspace Reports API activity, as activities.list returns it.
type gActivity struct {
	Kind      string   `json:"kind"`
	ID        gID      `json:"id"`
	Etag      string   `json:"etag"`
	Actor     gActor   `json:"actor"`
	IPAddress string   `json:"ipAddress,omitempty"`
	Events    []gEvent `json:"events"`
}

type gID struct {
	Time            string `json:"time"`
	UniqueQualifier any    `json:"uniqueQualifier"`
	ApplicationName string `json:"applicationName"`
	CustomerID      string `json:"customerId"`
}

type gActor struct {
	CallerType string `json:"callerType,omitempty"`
	Email      string `json:"email,omitempty"`
	ProfileID  string `json:"profileId,omitempty"`
}

type gEvent struct {
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Parameters []gParam `json:"parameters"`
}

type gParam struct {
	Name              string   `json:"name"`
	Value             string   `json:"value,omitempty"`
	MultiValue        []string `json:"multiValue,omitempty"`
	BoolValue         *bool    `json:"boolValue,omitempty"`
	IntValue          string   `json:"intValue,omitempty"`
	MultiMessageValue []any    `json:"multiMessageValue,omitempty"`
}

type gPage struct {
	Kind          string      `json:"kind"`
	Etag          string      `json:"etag"`
	Items         []gActivity `json:"items,omitempty"`
	NextPageToken string      `json:"nextPageToken,omitempty"`
}

type googleApp struct{ name, clientID, canon string }

func (a *googleApp) key() string {
	if a.clientID != "" {
		return "google:" + a.clientID
	}
	return "name:" + a.canon
}

type samlApp struct{ name, canon string }

var samlApps = []samlApp{
	{"Salesforce (SSO)", "salesforce"}, {"Slack", "slack"}, {"Zoom SAML", "zoom"},
	{"Atlassian Cloud", "atlassian cloud"}, {"Notion Labs, Inc.", "notion"}, {"Canva Pty Ltd", "canva"},
	{"Figma", "figma"}, {"Workday", "workday"},
}

var googleScopes = []string{"openid", "https://www.googleapis.com/auth/userinfo.email",
	"https://www.googleapis.com/auth/userinfo.profile", "https://www.googleapis.com/auth/drive.readonly",
	"https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.readonly"}

var samlFailures = []string{"failure_app_not_configured_for_user", "failure_invalid_sp_id", "failure_app_disabled"}

// googleRec is one activity with what a parser must make of each of its events.
type googleRec struct {
	act    gActivity
	line   int
	exps   []*Event // per event; nil = skipped
	bad    []bool   // per event: rejected
	reject bool     // the whole activity is rejected
}

type googleWorld struct {
	g     *gen
	apps  []googleApp
	clock *clock
	n     int
}

func (g *gen) newGoogleWorld(offset time.Duration) *googleWorld {
	w := &googleWorld{g: g, clock: g.clock(offset)}
	for _, name := range []string{"Zoom", "Slack", "Notion", "Miro", "Asana", "Canva", "ChatGPT", "Grammarly",
		"Calendly", "HubSpot", "monday.com", "Airtable", "Lucidchart", "Loom", "Zapier", "Otter.ai", "PDF Converter Pro", "Dropbox"} {
		w.apps = append(w.apps, googleApp{name: name, clientID: g.digits(12) + "-" + strings.ToLower(g.token(32)) + ".apps.googleusercontent.com"})
	}
	// An app whose events carry no client_id: keyed by its normalised name.
	w.apps = append(w.apps, googleApp{name: "Legacy Sync Tool (Beta)", canon: "legacy sync tool"})
	return w
}

func (w *googleWorld) activity(app string) *googleRec {
	g := w.g
	w.n++
	p := g.person()
	t := w.clock.next(time.Millisecond)
	uq := g.rng.Int64()
	if g.chance(0.5) {
		uq = -uq
	}
	r := &googleRec{act: gActivity{
		Kind:      "admin#reports#activity",
		ID:        gID{Time: t.Format("2006-01-02T15:04:05.000Z"), UniqueQualifier: uq, ApplicationName: app, CustomerID: "C03az79cb"},
		Etag:      "\"" + g.token(43) + "\"",
		Actor:     gActor{CallerType: "USER", Email: p.email, ProfileID: p.googleID},
		IPAddress: g.ip(p),
	}}
	email := p.email
	if g.chance(0.1) {
		r.act.Actor.Email = p.first + "." + p.last + "@NORTHWIND.example"
		email = lower(r.act.Actor.Email)
	}
	prefix := rfc(t) + "/" + strconv.FormatInt(uq, 10) + "/"
	addEvent := func(ev gEvent, exp *Event) {
		i := len(r.act.Events)
		r.act.Events = append(r.act.Events, ev)
		if exp != nil {
			exp.SourceEventID = prefix + strconv.Itoa(i) + "/" + ev.Name
			exp.OccurredAt = rfc(t)
			exp.UserEmail, exp.UserID, exp.IP = email, p.googleID, r.act.IPAddress
		}
		r.exps = append(r.exps, exp)
		r.bad = append(r.bad, false)
	}
	switch app {
	case "token":
		n := 1
		if g.chance(0.1) {
			n = 2
		}
		for k := 0; k < n; k++ {
			a := &w.apps[g.pick(len(w.apps))]
			name, kind := "authorize", "oauth_grant"
			switch x := g.rng.Float64(); {
			case x < 0.12:
				name, kind = "revoke", "oauth_revoke"
			case x < 0.2:
				name, kind = "activity", ""
			}
			ns := 1 + g.rng.IntN(4)
			sc := append([]string(nil), googleScopes[:ns]...)
			params := []gParam{{Name: "app_name", Value: a.name}, {Name: "client_type", Value: "WEB"}}
			if a.clientID != "" {
				params = append([]gParam{{Name: "client_id", Value: a.clientID}}, params...)
			}
			if kind == "" {
				params = append(params, gParam{Name: "api_name", Value: "drive"}, gParam{Name: "num_response_bytes", IntValue: strconv.Itoa(g.rng.IntN(90000))})
				addEvent(gEvent{Type: "auth", Name: name, Parameters: params}, nil)
				continue
			}
			params = append(params, gParam{Name: "scope", MultiValue: sc},
				gParam{Name: "scope_data", MultiMessageValue: []any{map[string]any{"parameter": []any{
					map[string]any{"name": "scope_name", "value": sc[0]},
					map[string]any{"name": "product_bucket", "multiValue": []string{"IDENTITY"}}}}}})
			addEvent(gEvent{Type: "auth", Name: name, Parameters: params}, &Event{
				AppKey: a.key(), AppName: a.name, ClientID: a.clientID, Kind: kind, Outcome: "success", Scopes: sc})
		}
	case "saml":
		a := samlApps[g.pick(len(samlApps))]
		params := []gParam{{Name: "application_name", Value: a.name}, {Name: "initiated_by", Value: "sp"}, {Name: "orgunit_path", Value: "/"}}
		exp := &Event{AppKey: "name:" + a.canon, AppName: a.name, Kind: "sso_login", Outcome: "success"}
		name := "login_success"
		if g.chance(0.12) {
			name = "login_failure"
			ft := samlFailures[g.rng.IntN(len(samlFailures))]
			params = append(params, gParam{Name: "failure_type", Value: ft})
			exp.Outcome, exp.FailureReason = "failure", ft
		}
		addEvent(gEvent{Type: "login", Name: name, Parameters: params}, exp)
	case "login":
		tru := true
		if g.chance(0.3) {
			addEvent(gEvent{Type: "login", Name: "login_verification", Parameters: []gParam{{Name: "login_type", Value: "google_password"}, {Name: "is_second_factor", BoolValue: &tru}}}, nil)
		}
		addEvent(gEvent{Type: "login", Name: "login_success", Parameters: []gParam{{Name: "login_type", Value: "google_password"}, {Name: "is_suspicious", BoolValue: new(bool)}}}, nil)
	}
	return r
}

// breakActivity spoils a record the way a hand-edited or corrupted export might.
func (w *googleWorld) breakActivity(r *googleRec, kind int) {
	switch kind {
	case 0:
		r.act.ID.UniqueQualifier = "n/a"
		r.reject = true
	case 1:
		r.act.ID.Time = "yesterday"
		r.reject = true
	case 2: // the first event loses the parameter that names its app
		ev := &r.act.Events[0]
		var keep []gParam
		for _, p := range ev.Parameters {
			if p.Name != "application_name" && p.Name != "app_name" && p.Name != "client_id" {
				keep = append(keep, p)
			}
		}
		ev.Parameters = keep
		if r.exps[0] != nil {
			r.exps[0] = nil
			r.bad[0] = true
		}
	}
}

func (t *tally) googleRecord(r *googleRec) {
	if r.reject {
		t.reject(r.line)
		return
	}
	for i, exp := range r.exps {
		switch {
		case r.bad[i]:
			t.reject(r.line)
		case exp == nil:
			t.skip()
		default:
			t.emit(*exp)
		}
	}
}

// mix returns the next activity of a stream mixing the given applications.
func (w *googleWorld) mix(apps []string, weights []float64, withBad bool) *googleRec {
	x := w.g.rng.Float64()
	app := apps[len(apps)-1]
	for i, wt := range weights {
		if x < wt {
			app = apps[i]
			break
		}
		x -= wt
	}
	r := w.activity(app)
	if withBad && w.n%37 == 18 {
		w.breakActivity(r, w.n/37%3)
	}
	return r
}

func (g *gen) google() []genFile {
	var out []genFile

	// 1. Two saved pages of applicationName=token plus the empty last page Google returns; the
	// second page overlaps the first by six activities, whose uniqueQualifier this time arrives as
	// a string (the same events: same ids).
	w := g.newGoogleWorld(72 * time.Hour)
	var recs []*googleRec
	for i := 0; i < 134; i++ {
		recs = append(recs, w.mix([]string{"token"}, []float64{1}, true))
	}
	d := &doc{}
	t := newTally("google", "google/token_pages.json", "Reports API activities.list pages (token), indented, one after the other, ending with an empty page", 9)
	pages := [][]*googleRec{recs[:70], recs[64:]}
	for pi, page := range pages {
		d.str("{\n  \"kind\": \"admin#reports#activities\",\n  \"etag\": \"\\\"" + g.token(40) + "\\\"\",\n  \"items\": [\n")
		for i, r := range page {
			if i > 0 {
				d.str(",\n")
			}
			d.str("    ")
			rec := *r
			if pi == 1 && i < 6 {
				if n, ok := rec.act.ID.UniqueQualifier.(int64); ok {
					rec.act.ID.UniqueQualifier = strconv.FormatInt(n, 10)
				}
			}
			rec.line = d.line()
			t.googleRecord(&rec)
			d.write(mustIndent(rec.act, "    "))
		}
		d.str("\n  ],\n  \"nextPageToken\": \"" + g.token(60) + "\"\n}\n")
	}
	d.write(mustJSON(gPage{Kind: "admin#reports#activities", Etag: "\"" + g.token(40) + "\""}))
	d.str("\n")
	out = append(out, t.files(d.bytes())...)

	// 2. saml and login activities, one per line, as a log pipeline stores them.
	w = g.newGoogleWorld(96 * time.Hour)
	d = &doc{}
	t = newTally("google", "google/saml_login.ndjson", "one activity per line (NDJSON), saml and login", 9)
	for i := 0; i < 200; i++ {
		r := w.mix([]string{"saml", "login"}, []float64{0.6, 0.4}, true)
		r.line = d.line()
		t.googleRecord(r)
		d.write(mustJSON(r.act))
		d.str("\n")
	}
	out = append(out, t.files(d.bytes())...)

	// 3. Everything mixed, one per line, gzip-compressed.
	w = g.newGoogleWorld(120 * time.Hour)
	d = &doc{}
	t = newTally("google", "google/mixed.ndjson.gz", "gzip-compressed NDJSON mixing token, saml and login", 9)
	for i := 0; i < 160; i++ {
		r := w.mix([]string{"token", "saml", "login"}, []float64{0.45, 0.35, 0.2}, true)
		r.line = d.line()
		t.googleRecord(r)
		d.write(mustJSON(r.act))
		d.str("\n")
	}
	out = append(out, t.files(gz(d.bytes()))...)

	// 4. A plain array of activities.
	w = g.newGoogleWorld(144 * time.Hour)
	d = &doc{}
	t = newTally("google", "google/activities_array.json", "a plain JSON array of activities", 5)
	d.str("[\n")
	for i := 0; i < 40; i++ {
		r := w.mix([]string{"token", "saml"}, []float64{0.5, 0.5}, false)
		if i > 0 {
			d.str(",\n")
		}
		r.line = d.line()
		t.googleRecord(r)
		d.write(mustJSON(r.act))
	}
	d.str("\n]\n")
	out = append(out, t.files(d.bytes())...)
	return out
}
