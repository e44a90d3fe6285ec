package fixturegen

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Microsoft Graph signIn resource (v1.0), the fields an export carries.
type eSignIn struct {
	ID                               string    `json:"id"`
	CreatedDateTime                  string    `json:"createdDateTime,omitempty"`
	UserDisplayName                  string    `json:"userDisplayName"`
	UserPrincipalName                string    `json:"userPrincipalName"`
	UserID                           string    `json:"userId"`
	AppID                            string    `json:"appId,omitempty"`
	AppDisplayName                   string    `json:"appDisplayName"`
	IPAddress                        string    `json:"ipAddress"`
	ClientAppUsed                    string    `json:"clientAppUsed"`
	CorrelationID                    string    `json:"correlationId"`
	ConditionalAccessStatus          string    `json:"conditionalAccessStatus"`
	IsInteractive                    bool      `json:"isInteractive"`
	RiskDetail                       string    `json:"riskDetail"`
	ResourceDisplayName              string    `json:"resourceDisplayName"`
	ResourceID                       string    `json:"resourceId"`
	Status                           *eStatus  `json:"status,omitempty"`
	DeviceDetail                     eDevice   `json:"deviceDetail"`
	Location                         eLocation `json:"location"`
	AppliedConditionalAccessPolicies []any     `json:"appliedConditionalAccessPolicies"`
}

type eStatus struct {
	ErrorCode         int     `json:"errorCode"`
	FailureReason     string  `json:"failureReason"`
	AdditionalDetails *string `json:"additionalDetails"`
}

type eDevice struct {
	DeviceID        string `json:"deviceId"`
	DisplayName     string `json:"displayName"`
	OperatingSystem string `json:"operatingSystem"`
	Browser         string `json:"browser"`
	IsCompliant     bool   `json:"isCompliant"`
	IsManaged       bool   `json:"isManaged"`
	TrustType       string `json:"trustType"`
}

type eLocation struct {
	City            string  `json:"city"`
	State           string  `json:"state"`
	CountryOrRegion string  `json:"countryOrRegion"`
	GeoCoordinates  eCoords `json:"geoCoordinates"`
}

type eCoords struct {
	Altitude  any     `json:"altitude"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// A diagnostic-settings (Event Hub / storage) record around a sign-in.
type eDiag struct {
	Time              string `json:"time"`
	ResourceID        string `json:"resourceId"`
	OperationName     string `json:"operationName"`
	OperationVersion  string `json:"operationVersion"`
	Category          string `json:"category"`
	TenantID          string `json:"tenantId"`
	ResultType        string `json:"resultType"`
	ResultSignature   string `json:"resultSignature"`
	ResultDescription string `json:"resultDescription,omitempty"`
	DurationMs        int    `json:"durationMs"`
	CallerIPAddress   string `json:"callerIpAddress"`
	CorrelationID     string `json:"correlationId"`
	Identity          string `json:"identity"`
	Level             int    `json:"Level"`
	Location          string `json:"location"`
	Properties        any    `json:"properties"`
}

type entraApp struct{ name, appID, canon string }

func (a *entraApp) key() string {
	if a.appID != "" {
		return "entra:" + strings.ToLower(a.appID)
	}
	return "name:" + a.canon
}

func (g *gen) entraApps() []entraApp {
	return []entraApp{
		{name: "Office 365 Exchange Online", appID: "00000002-0000-0ff1-ce00-000000000000"},
		{name: "Microsoft Teams", appID: "1fec8e78-bce4-4aaf-ab1b-5451cc387264"},
		{name: "Salesforce", appID: g.guid()},
		{name: "Slack Technologies", appID: g.guid()},
		{name: "Zoom", appID: g.guid()},
		{name: "Azure Portal", appID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
		{name: "Figma", appID: g.guid()},
		{name: "Workday", appID: g.guid()},
		{name: "ServiceNow", appID: strings.ToUpper(g.guid())}, // written in capitals by an old connector
		{name: "Notion Labs", appID: g.guid()},
		{name: "SurveyMonkey", appID: g.guid()},
		{name: "Vendor X Beta (Production)", canon: "vendor x beta"}, // no appId: keyed by name
	}
}

type entraCode struct {
	code    int
	reason  string
	outcome string
	status  string // the portal CSV's Status column
}

var entraCodes = []entraCode{
	{50126, "Error validating credentials due to invalid username or password.", "failure", "Failure"},
	{50140, "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.", "interrupted", "Interrupted"},
	{50074, "Strong Authentication is required.", "interrupted", "Interrupted"},
	{53003, "Access has been blocked by Conditional Access policies.", "failure", "Failure"},
	{50053, "Account is locked because user tried to sign in too many times with an incorrect user ID or password.", "failure", "Failure"},
}

var browsers = []string{"Chrome 122.0.0", "Edge 122.0.2365", "Firefox 123.0", "Safari 17.3", "Rich Client 4.57.0.0"}

// entraRec is one generated sign-in with its expected event.
type entraRec struct {
	si   *eSignIn
	t    time.Time // the true instant (100 ns precision)
	code entraCode // code 0 for success
	exp  Event
	p    *person
	app  *entraApp
}

type entraWorld struct {
	g     *gen
	apps  []entraApp
	clock *clock
}

func (g *gen) newEntraWorld(offset time.Duration) *entraWorld {
	return &entraWorld{g: g, apps: g.entraApps(), clock: g.clock(offset)}
}

func (w *entraWorld) signIn() entraRec {
	g := w.g
	p := g.person()
	app := &w.apps[g.pick(len(w.apps))]
	t := w.clock.next(100 * time.Nanosecond)
	code := entraCode{outcome: "success", status: "Success"}
	switch x := g.rng.Float64(); {
	case x < 0.10:
		code = entraCodes[0]
	case x < 0.14:
		code = entraCodes[1]
	case x < 0.17:
		code = entraCodes[2]
	case x < 0.19:
		code = entraCodes[3]
	case x < 0.20:
		code = entraCodes[4]
	}
	browser := browsers[g.rng.IntN(len(browsers))]
	si := &eSignIn{
		ID:                               g.guid(),
		CreatedDateTime:                  t.Format("2006-01-02T15:04:05.0000000Z"),
		UserDisplayName:                  p.first + " " + p.last,
		UserPrincipalName:                p.email,
		UserID:                           p.entraID,
		AppID:                            app.appID,
		AppDisplayName:                   app.name,
		IPAddress:                        g.ip(p),
		ClientAppUsed:                    "Browser",
		CorrelationID:                    g.guid(),
		ConditionalAccessStatus:          "notApplied",
		IsInteractive:                    true,
		RiskDetail:                       "none",
		ResourceDisplayName:              "Microsoft Graph",
		ResourceID:                       "00000003-0000-0000-c000-000000000000",
		Status:                           &eStatus{ErrorCode: code.code},
		DeviceDetail:                     eDevice{OperatingSystem: "Windows10", Browser: browser},
		Location:                         eLocation{City: p.city.name, State: p.city.state, CountryOrRegion: p.city.cc, GeoCoordinates: eCoords{Latitude: 47.6, Longitude: -122.3}},
		AppliedConditionalAccessPolicies: []any{},
	}
	if code.code != 0 {
		si.Status.FailureReason = code.reason
		si.ConditionalAccessStatus = "failure"
	} else {
		si.Status.FailureReason = "Other."
	}
	if g.chance(0.15) {
		si.UserPrincipalName = p.first + "." + p.last + "@Northwind.example"
	}
	exp := Event{
		SourceEventID: si.ID, OccurredAt: rfc(t), UserEmail: lower(si.UserPrincipalName), UserID: p.entraID,
		AppKey: app.key(), AppName: app.name, ClientID: app.appID, Kind: "sso_login", Outcome: code.outcome,
		IP: si.IPAddress, UserAgent: browser,
	}
	if code.code != 0 {
		exp.FailureReason = code.reason
	}
	return entraRec{si: si, t: t, code: code, exp: exp, p: p, app: app}
}

func (g *gen) entra() []genFile {
	var out []genFile
	w := g.newEntraWorld(24 * time.Hour)

	// 1. Two Graph pages (newest first, as Graph returns them) saved one after the other; the
	// second page's window overlaps the first by five sign-ins.
	var recs []entraRec
	for i := 0; i < 115; i++ {
		recs = append(recs, w.signIn())
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	d := &doc{}
	t := newTally("entra", "entra/graph_signins_pages.json", "two Microsoft Graph /auditLogs/signIns pages, indented, one after the other", 9)
	for pi, page := range [][]entraRec{recs[:60], recs[55:]} {
		d.str("{\n  \"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\n  \"value\": [\n")
		for i, r := range page {
			if i > 0 {
				d.str(",\n")
			}
			d.str("    ")
			t.emit(r.exp)
			d.write(mustIndent(r.si, "    "))
		}
		d.str("\n  ]")
		if pi == 0 {
			d.str(",\n  \"@odata.nextLink\": \"https://graph.microsoft.com/v1.0/auditLogs/signIns?$top=60&$skiptoken=" + g.token(40) + "\"")
		}
		d.str("\n}\n")
	}
	out = append(out, t.files(d.bytes())...)

	// 2. The portal's JSON download: a plain array. Twenty of its sign-ins are also in the Graph
	// pages (the same ids), as happens when windows overlap.
	d = &doc{}
	t = newTally("entra", "entra/portal_signins.json", "the admin portal's JSON download: a plain array of sign-ins", 9)
	d.str("[\n")
	for i := 0; i < 100; i++ {
		var r entraRec
		if i%5 == 2 {
			r = recs[i] // shared with the Graph pages
		} else {
			r = w.signIn()
		}
		if i > 0 {
			d.str(",\n")
		}
		t.emit(r.exp)
		d.write(mustJSON(r.si))
	}
	d.str("\n]\n")
	out = append(out, t.files(d.bytes())...)

	out = append(out, g.entraDiagnostic(w)...)
	out = append(out, g.entraCSV(w)...)
	out = append(out, g.entraGrants()...)
	return out
}

// timeLayout renders t in one of the layouts diagnostic exports use and returns the instant a
// parser must read back, or ok=false when the text is ambiguous and must be rejected.
func timeLayout(t time.Time, layout int) (text string, want time.Time, ok bool) {
	switch layout {
	case 0:
		return t.Format("2006-01-02T15:04:05.0000000Z"), t, true
	case 1:
		return t.Format("2006-01-02T15:04:05.0000000") + "+00:00", t, true
	case 2:
		return t.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.0000000-07:00"), t, true
	case 3: // US month/day/year, seconds only
		s := t.Truncate(time.Second)
		text = s.Format("01/02/2006 15:04:05")
		ambiguous := s.Day() <= 12 && int(s.Month()) != s.Day()
		return text, s, !ambiguous
	case 4: // no zone: UTC
		return t.Format("2006-01-02 15:04:05.0000000"), t, true
	}
	return t.Format("2006-01-02T15:04:05.0000000"), t, true
}

func (g *gen) diag(r entraRec, category string, props any) eDiag {
	d := eDiag{
		Time:             r.t.Format("2006-01-02T15:04:05.0000000Z"),
		ResourceID:       "/tenants/" + g.tenant + "/providers/Microsoft.aadiam",
		OperationName:    "Sign-in activity",
		OperationVersion: "1.0",
		Category:         category,
		TenantID:         g.tenant,
		ResultType:       strconv.Itoa(r.code.code),
		ResultSignature:  "None",
		DurationMs:       0,
		CallerIPAddress:  r.si.IPAddress,
		CorrelationID:    r.si.CorrelationID,
		Identity:         r.si.UserDisplayName,
		Level:            4,
		Location:         r.p.city.cc,
		Properties:       props,
	}
	if r.code.code != 0 {
		d.ResultDescription = r.code.reason
	}
	return d
}

func (g *gen) entraDiagnostic(w *entraWorld) []genFile {
	var out []genFile
	// One record per line, as Event Hub consumers and newer storage blobs write them.
	d := &doc{}
	t := newTally("entra", "entra/diagnostic_signins.ndjson", "diagnostic-settings export, one record per line, several time layouts", 9)
	for i := 0; i < 160; i++ {
		line := d.line()
		x := g.rng.Float64()
		switch {
		case x < 0.08: // a service principal signing in: not a person using an app
			r := w.signIn()
			props := map[string]any{"id": r.si.ID, "createdDateTime": r.si.CreatedDateTime, "appId": r.si.AppID,
				"appDisplayName": r.si.AppDisplayName, "servicePrincipalId": g.guid(), "servicePrincipalName": r.si.AppDisplayName,
				"ipAddress": r.si.IPAddress, "status": map[string]any{"errorCode": 0}}
			d.write(mustJSON(g.diag(r, "ServicePrincipalSignInLogs", props)))
			t.skip()
		case x < 0.13: // an audit record in the same stream
			r := w.signIn()
			props := map[string]any{"id": "Directory_" + g.guid(), "category": "UserManagement",
				"activityDisplayName": "Update user", "activityDateTime": r.si.CreatedDateTime, "result": "success",
				"initiatedBy": map[string]any{"user": map[string]any{"userPrincipalName": r.p.email}}}
			dg := g.diag(r, "AuditLogs", props)
			dg.OperationName = "Update user"
			d.write(mustJSON(dg))
			t.skip()
		default:
			r := w.signIn()
			category := "SignInLogs"
			if x > 0.85 {
				category = "NonInteractiveUserSignInLogs"
				r.si.IsInteractive = false
			}
			layout := g.rng.IntN(6)
			text, want, ok := timeLayout(r.t, layout)
			si := *r.si
			dg := g.diag(r, category, nil)
			if g.chance(0.2) {
				// No createdDateTime in properties: the envelope's time is the sign-in's.
				si.CreatedDateTime = ""
				dg.Time = text
			} else {
				si.CreatedDateTime = text
			}
			if g.chance(0.1) {
				// No status in properties: resultType says how it went.
				si.Status = nil
			}
			dg.Properties = &si
			d.write(mustJSON(dg))
			if !ok {
				t.reject(line)
			} else {
				exp := r.exp
				exp.OccurredAt = rfc(want)
				t.emit(exp)
			}
		}
		d.str("\n")
	}
	out = append(out, t.files(d.bytes())...)

	// The older storage-account blob: one {"records":[…]} object.
	d = &doc{}
	t = newTally("entra", "entra/diagnostic_records.json", "diagnostic-settings storage blob {\"records\":[…]}", 7)
	d.str("{ \"records\": [\n")
	for i := 0; i < 60; i++ {
		r := w.signIn()
		if i > 0 {
			d.str(",\n")
		}
		t.emit(r.exp)
		d.write(mustJSON(g.diag(r, "SignInLogs", r.si)))
	}
	d.str("\n]}\n")
	out = append(out, t.files(d.bytes())...)
	return out
}

// The portal's CSV header, as downloaded (trailing spaces and the repeated column included).
var entraCSVHeader = []string{"Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID", "User",
	"Username", "User type", "Cross tenant access type", "Incoming token type", "Authentication Protocol",
	"Unique token identifier", "Client credential type", "Application", "Application ID ", "Resource",
	"Resource ID ", "Resource tenant ID", "Home tenant ID", "IP address", "Location", "Status",
	"Sign-in error code", "Failure reason", "Client app", "Device ID", "Browser", "Operating System",
	"Compliant", "Managed", "Join Type", "Multifactor authentication result", "Authentication requirement",
	"Sign-in identifier", "Session ID", "IP address (seen by resource)", "Incoming token type",
	"Flagged for review", "Token issuer type", "Latency", "Conditional Access", "Application ID "}

func (g *gen) entraCSV(w *entraWorld) []genFile {
	d := &doc{}
	t := newTally("entra", "entra/portal_signins.csv", "the admin portal's CSV download (BOM, padded and repeated header names)", 9)
	var buf strings.Builder
	cw := csv.NewWriter(&buf)
	flush := func() {
		cw.Flush()
		d.str(buf.String())
		buf.Reset()
	}
	d.str("\uFEFF")
	_ = cw.Write(entraCSVHeader)
	flush()
	for i := 0; i < 150; i++ {
		r := w.signIn()
		line := d.line()
		date := r.t.Truncate(time.Second).Format("2006-01-02T15:04:05Z")
		want := r.t.Truncate(time.Second)
		ok := true
		if g.chance(0.12) { // the US layout some tenants' downloads carry
			date = want.Format("1/2/2006, 3:04:05 PM")
			ok = !(want.Day() <= 12 && int(want.Month()) != want.Day())
		}
		reqID := r.si.ID
		if i%50 == 31 {
			reqID = "" // a row without its Request ID cannot be deduplicated
			ok = false
		}
		ua := userAgents[g.rng.IntN(len(userAgents))]
		loc := fmt.Sprintf("%s, %s, %s", r.p.city.name, r.p.city.state, r.p.city.cc)
		reason := ""
		if r.code.code != 0 {
			reason = r.code.reason
		}
		row := []string{date, reqID, ua, r.si.CorrelationID, r.p.entraID, r.si.UserDisplayName,
			r.si.UserPrincipalName, "Member", "none", "none", "none", g.token(22), "none", r.app.name, r.app.appID,
			"Microsoft Graph", "00000003-0000-0000-c000-000000000000", g.tenant, g.tenant, r.si.IPAddress, loc,
			r.code.status, strconv.Itoa(r.code.code), reason, "Browser", "", r.si.DeviceDetail.Browser, "Windows10",
			"No", "No", "", "", "Single-factor authentication", r.p.email, g.guid(), r.si.IPAddress, "none",
			"No", "AzureAD", strconv.Itoa(40 + g.rng.IntN(400)), "Not Applied", ""}
		_ = cw.Write(row)
		flush()
		if !ok {
			t.reject(line)
			continue
		}
		exp := r.exp
		exp.OccurredAt = rfc(want)
		exp.UserAgent = ua
		t.emit(exp)
	}
	return t.files(d.bytes())
}

type eSP struct {
	ID                     string `json:"id"`
	AppID                  string `json:"appId,omitempty"`
	AppDisplayName         string `json:"appDisplayName"`
	DisplayName            string `json:"displayName"`
	AppOwnerOrganizationID string `json:"appOwnerOrganizationId"`
	ServicePrincipalType   string `json:"servicePrincipalType"`
}

type eGrant struct {
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	ID          string  `json:"id"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	Scope       string  `json:"scope"`
}

type eUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// SnapshotTime is the time written into the grant snapshot fixture.
const SnapshotTime = "2024-04-01T06:00:00Z"

func (g *gen) entraGrants() []genFile {
	microsoft := "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	type spDef struct {
		sp    eSP
		third bool
		key   string
	}
	var sps []spDef
	add := func(name, appID, owner string, third bool, canon string) {
		sp := eSP{ID: g.guid(), AppID: appID, AppDisplayName: name, DisplayName: name, AppOwnerOrganizationID: owner, ServicePrincipalType: "Application"}
		key := "entra:" + strings.ToLower(appID)
		if appID == "" {
			key = "name:" + canon
		}
		sps = append(sps, spDef{sp, third, key})
	}
	add("Microsoft Graph", "00000003-0000-0000-c000-000000000000", microsoft, false, "")
	add("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", microsoft, false, "")
	add("Northwind Expenses", g.guid(), g.tenant, false, "")
	for _, name := range []string{"Grammarly", "Calendly", "Zapier", "Miro", "Lucidchart", "PDF Converter Pro", "Otter.ai", "Adobe Acrobat"} {
		add(name, g.guid(), g.guid(), true, "")
	}
	add("Legacy Connector", "", g.guid(), true, "legacy connector")
	graph := sps[0].sp.ID

	d := &doc{}
	t := newTally("entra", "entra/permission_grants.json", "permission-grant snapshot: grants, servicePrincipals and users in one object (grants first)", 5)
	d.str("{\n  \"snapshotTime\": \"" + SnapshotTime + "\",\n  \"tenantId\": \"" + g.tenant + "\",\n  \"grants\": [\n")

	type pending struct {
		exp    *Event
		skip   bool
		line   int
		reject bool
	}
	var grants []pending
	scopes := []string{"openid", "profile", "email", "offline_access", "User.Read", "Mail.Read", "Files.Read.All", "Calendars.ReadWrite"}
	users := g.people[:30]
	for i := 0; i < 70; i++ {
		var def spDef
		switch x := g.rng.Float64(); {
		case x < 0.12:
			def = sps[g.rng.IntN(3)] // first-party or own app: skipped
		default:
			def = sps[3+g.pick(len(sps)-3)]
		}
		n := 2 + g.rng.IntN(4)
		sc := append([]string(nil), scopes[:n]...)
		gr := eGrant{ClientID: def.sp.ID, ConsentType: "Principal", ID: g.token(43), ResourceID: graph, Scope: " " + strings.Join(sc, " ") + " "}
		exp := &Event{SourceEventID: "grant:" + gr.ID, OccurredAt: SnapshotTime, AppKey: def.key, AppName: def.sp.AppDisplayName,
			ClientID: def.sp.AppID, Kind: "oauth_grant", Outcome: "success", Scopes: sc}
		switch x := g.rng.Float64(); {
		case x < 0.15:
			gr.ConsentType = "AllPrincipals"
		case x < 0.25: // a user not in the users list: known by object id only
			id := g.guid()
			gr.PrincipalID = &id
			exp.UserID = id
		default:
			p := &users[g.rng.IntN(len(users))]
			gr.PrincipalID = &p.entraID
			exp.UserID, exp.UserEmail = p.entraID, p.email
		}
		if i == 23 || i == 57 {
			gr.ClientID = g.guid() // its service principal was deleted before the snapshot
		}
		if i > 0 {
			d.str(",\n")
		}
		d.str("    ")
		grants = append(grants, pending{exp: exp, skip: !def.third, line: d.line(), reject: i == 23 || i == 57})
		d.write(mustIndent(gr, "    "))
	}
	d.str("\n  ],\n  \"servicePrincipals\": [\n")
	for i, s := range sps {
		if i > 0 {
			d.str(",\n")
		}
		d.str("    ")
		d.write(mustIndent(s.sp, "    "))
		t.skip()
	}
	d.str("\n  ],\n  \"users\": [\n")
	for i, p := range users {
		if i > 0 {
			d.str(",\n")
		}
		d.str("    ")
		d.write(mustJSON(eUser{ID: p.entraID, UserPrincipalName: p.email, Mail: p.email}))
		t.skip()
	}
	d.str("\n  ]\n}\n")
	for _, gr := range grants {
		switch {
		case gr.reject:
			t.reject(gr.line)
		case gr.skip:
			t.skip()
		default:
			t.emit(*gr.exp)
		}
	}
	return t.files(d.bytes())
}
