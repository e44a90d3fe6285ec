package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EntraParser reads Microsoft Entra ID sign-in logs in every shape they are exported in, and
// snapshots of consented OAuth2 permission grants:
//
//   - Microsoft Graph GET /auditLogs/signIns pages {"@odata.context":…, "value":[…],
//     "@odata.nextLink":…}, one or several (saved one after another, or one per line);
//   - the admin portal's JSON download: a plain array of sign-ins;
//   - diagnostic-settings / Event Hub exports: {"time":…, "category":"SignInLogs",
//     "resultType":…, "properties":{…sign-in…}} one per line, or wrapped in {"records":[…]};
//     categories other than SignInLogs and NonInteractiveUserSignInLogs (service-principal and
//     managed-identity sign-ins, audit logs, …) are skipped;
//   - the admin portal's CSV download (header "Date (UTC)", "Request ID", "Username",
//     "Application", "Application ID ", "IP address", "Status", "Sign-in error code",
//     "Failure reason", …; names are trimmed and a repeated column counts once, the first);
//   - a permission-grant snapshot (below).
//
// A sign-in becomes an sso_login with SourceEventID = its id (Graph "id", the portal CSV's
// "Request ID": the same value, so a sign-in imported both ways is one event), AppKey
// entra:<appId> (appId is the same in every tenant) or name:<normalised appDisplayName>.
// status.errorCode 0 is success, an interruption code (50140 "stay signed in?", 50074/50076 MFA
// required, …) is interrupted, anything else a failure. Times may be RFC 3339 with 7-digit
// fractions and Z or an offset, zone-less (taken as UTC) or slash dates; a slash date whose day
// and month could be swapped is rejected, never guessed.
//
// # Permission-grant snapshot
//
// GET /oauth2PermissionGrants and GET /servicePrincipals saved together in one JSON object:
//
//	{
//	  "snapshotTime": "2024-05-01T00:00:00Z",   // when the lists were read; or WithSnapshotTime
//	  "tenantId": "…",                           // optional: grants to the tenant's own apps are skipped
//	  "servicePrincipals": [{"id", "appId", "appDisplayName", "displayName", "appOwnerOrganizationId"}…],
//	  "users": [{"id", "userPrincipalName", "mail"}…],  // optional: principalId → e-mail
//	  "grants": [{"id", "clientId", "consentType", "principalId", "resourceId", "scope"}…]
//	}
//
// ("oauth2PermissionGrants" is accepted for "grants"; keys in any order.) Each grant whose
// client service principal belongs to another organisation (a third-party app) becomes an
// oauth_grant: OccurredAt is the snapshot time (grants carry none; WithSnapshotTime wins over the
// file's snapshotTime, and a snapshot with neither is refused), SourceEventID "grant:<grant id>"
// (so the same grant in a later snapshot is not new), AppKey entra:<appId>, Scopes the split
// scope, UserID the principalId (empty for AllPrincipals, an admin consent for everyone).
// Grants to Microsoft's own or the tenant's apps are skipped. Unlike sign-ins, the grants of a
// snapshot are held in memory until its end, since the service principals may come after them.
type EntraParser struct {
	// SnapshotTime is the OccurredAt of grant events (see WithSnapshotTime).
	SnapshotTime time.Time
}

// Format implements Parser.
func (*EntraParser) Format() string { return FormatEntra }

type entraSignIn struct {
	ID                  string       `json:"id"`
	CreatedDateTime     string       `json:"createdDateTime"`
	UserPrincipalName   string       `json:"userPrincipalName"`
	UserID              string       `json:"userId"`
	AppDisplayName      string       `json:"appDisplayName"`
	AppID               string       `json:"appId"`
	ResourceDisplayName string       `json:"resourceDisplayName"`
	IPAddress           string       `json:"ipAddress"`
	ClientAppUsed       string       `json:"clientAppUsed"`
	UserAgent           string       `json:"userAgent"`
	Status              *entraStatus `json:"status"`
	DeviceDetail        *struct {
		Browser string `json:"browser"`
	} `json:"deviceDetail"`

	// The diagnostic-settings envelope around a sign-in.
	Time              string       `json:"time"`
	Category          string       `json:"category"`
	ResultType        flexString   `json:"resultType"`
	ResultDescription string       `json:"resultDescription"`
	CallerIPAddress   string       `json:"callerIpAddress"`
	Properties        *entraSignIn `json:"properties"`

	// The scalars of a permission-grant snapshot object (top level only).
	SnapshotTime flexString `json:"snapshotTime"`
	TenantID     flexString `json:"tenantId"`
}

type entraStatus struct {
	ErrorCode     flexString `json:"errorCode"`
	FailureReason string     `json:"failureReason"`
}

// entraInterruptions are sign-in error codes that stop a sign-in to ask for something rather
// than refuse it: the user usually completes it in a following sign-in.
var entraInterruptions = map[int]bool{
	50055: true, // password expired, must change
	50072: true, // must register for MFA
	50074: true, // strong authentication required
	50076: true, // MFA required (location, policy)
	50079: true, // must enrol for MFA
	50097: true, // device authentication required
	50125: true, // sign-in interrupted by password reset or registration
	50129: true, // device is not workplace joined
	50140: true, // "Keep me signed in" interrupt
	50143: true, // session mismatch
	50158: true, // external security challenge not satisfied
	50199: true, // CmsiInterrupt: user confirmation required
	81010: true, // Seamless SSO: Kerberos ticket expired or invalid
	81012: true, // Seamless SSO: user mismatch
	16000: true, // account selection required
}

// Microsoft's own organisations: apps they own are first-party, not third-party consents.
var microsoftTenants = map[string]bool{
	"f8cdef31-a31e-4b4a-93e4-5f571e91255a": true, // Microsoft Services
	"72f988bf-86f1-41af-91ab-2d7cd011db47": true, // Microsoft
}

// Parse implements Parser.
func (p *EntraParser) Parse(ctx context.Context, r io.Reader, emit func(UsageEvent) error, reject func(Rejection) error) (Stats, error) {
	in, err := prepare(FormatEntra, r)
	if err != nil {
		return Stats{}, err
	}
	run := &entraRun{p: p, in: in, sink: newSink(ctx, emit, reject)}
	if b := in.firstByte(); b != '{' && b != '[' {
		err = run.parseCSV()
		return run.sink.stats, err
	}
	run.js = newJSONStream(in)
	err = run.js.eachRecord(run.signInElement, run.topObject)
	return run.sink.stats, err
}

type entraRun struct {
	p       *EntraParser
	in      *input
	js      *jsonStream
	sink    *sink
	records int
}

// topObject reads a top-level object: a Graph page, a {"records":[…]} blob, a grant snapshot,
// or a single sign-in (one line of NDJSON).
func (r *entraRun) topObject() error {
	var rec entraSignIn
	var snap *entraSnapshot
	snapshot := func() *entraSnapshot {
		if snap == nil {
			snap = &entraSnapshot{sps: map[string]entraSP{}, users: map[string]string{}}
		}
		return snap
	}
	pos, container, bad, err := r.js.walkObject(&rec, func(key string) (bool, error) {
		switch key {
		case "value", "records":
			return true, r.array(key, r.signInElement)
		case "servicePrincipals":
			s := snapshot()
			return true, r.array(key, func() error { return r.servicePrincipal(s) })
		case "users":
			s := snapshot()
			return true, r.array(key, func() error { return r.user(s) })
		case "grants", "oauth2PermissionGrants":
			s := snapshot()
			s.hasGrants = true
			return true, r.array(key, func() error { return r.grant(s) })
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if snap != nil {
		snap.tenantID = strings.ToLower(strings.TrimSpace(string(rec.TenantID)))
		snap.timeText = strings.TrimSpace(string(rec.SnapshotTime))
		return r.resolve(snap, pos)
	}
	if container {
		return nil
	}
	return r.signIn(&rec, pos, bad)
}

// array streams the elements of the array under key; null counts as empty.
func (r *entraRun) array(key string, fn func() error) error {
	tok, err := r.js.dec.Token()
	if err != nil {
		return r.js.fatal(err, r.js.dec.InputOffset(), 0)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		if d == '{' || d == '[' {
			tok = "an object"
		}
		return r.in.errorf(r.js.tr.lineAt(r.js.dec.InputOffset()), nil, "%q should be an array, found %v", key, tok)
	}
	return r.js.eachElement(fn)
}

func (r *entraRun) signInElement() error {
	var rec entraSignIn
	pos, bad, err := r.js.decode(&rec)
	if err != nil {
		return err
	}
	return r.signIn(&rec, pos, bad)
}

func (rec *entraSignIn) looksLikeSignIn() bool {
	return rec.CreatedDateTime != "" || rec.AppID != "" || rec.UserPrincipalName != "" || rec.AppDisplayName != "" ||
		(rec.Properties != nil && (rec.Category != "" || rec.Properties.looksLikeSignIn()))
}

func (r *entraRun) signIn(rec *entraSignIn, pos recPos, bad error) error {
	r.records++
	if !rec.looksLikeSignIn() {
		if r.records == 1 {
			raw := r.js.raw(pos, sniffSize)
			if bytes.Contains(raw, []byte(`"consentType"`)) {
				return r.in.errorf(pos.line, nil, "this is a list of permission grants without their service principals: "+
					"save them together as {\"snapshotTime\":…, \"servicePrincipals\":[…], \"grants\":[…]}")
			}
			return r.in.wrongFormat(pos.line, raw, "the first record has none of createdDateTime, userPrincipalName, appId, appDisplayName or properties")
		}
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "not an Entra ID sign-in: none of createdDateTime, userPrincipalName, appId, appDisplayName or properties")
	}
	if bad != nil {
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "%v", bad)
	}
	e, skip, why := entraToEvent(rec)
	switch {
	case skip:
		return r.sink.skipped()
	case why != "":
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "%s", why)
	}
	return r.sink.emitted(e)
}

func entraToEvent(rec *entraSignIn) (e UsageEvent, skip bool, why string) {
	src := rec
	if rec.Properties != nil {
		switch rec.Category {
		case "", "SignInLogs", "NonInteractiveUserSignInLogs":
		default:
			return e, true, "" // service principals, managed identities, audit logs, …
		}
		src = rec.Properties
	}
	e = UsageEvent{Source: SourceEntra, Kind: KindSSOLogin}
	e.SourceEventID = strings.TrimSpace(src.ID)
	if e.SourceEventID == "" {
		e.SourceEventID = strings.TrimSpace(rec.ID)
	}
	if e.SourceEventID == "" {
		return e, false, "no id"
	}
	when, field := src.CreatedDateTime, "createdDateTime"
	if strings.TrimSpace(when) == "" && rec.Time != "" {
		when, field = rec.Time, "time"
	}
	t, err := parseTime(when)
	if err != nil {
		return e, false, field + ": " + err.Error()
	}
	e.OccurredAt = t
	e.UserEmail = normalizeEmail(src.UserPrincipalName)
	e.UserID = strings.TrimSpace(src.UserID)
	if e.UserEmail == "" && e.UserID == "" {
		if upn := strings.TrimSpace(src.UserPrincipalName); upn != "" {
			e.UserID = upn
		} else {
			return e, false, "no userPrincipalName or userId"
		}
	}
	e.AppName = strings.TrimSpace(src.AppDisplayName)
	e.ClientID = strings.TrimSpace(src.AppID)
	e.AppKey = appKey(e.AppName, KeyEntra, strings.ToLower(e.ClientID))
	if e.AppKey == "" {
		return e, false, "no appId or appDisplayName"
	}
	e.IP = strings.TrimSpace(src.IPAddress)
	if e.IP == "" {
		e.IP = strings.TrimSpace(rec.CallerIPAddress)
	}
	e.UserAgent = src.UserAgent
	if e.UserAgent == "" && src.DeviceDetail != nil {
		e.UserAgent = src.DeviceDetail.Browser
	}
	code, reason := "", ""
	switch {
	case src.Status != nil:
		code, reason = string(src.Status.ErrorCode), src.Status.FailureReason
	case rec.Properties != nil:
		code, reason = string(rec.ResultType), rec.ResultDescription
	}
	outcome, err := entraOutcome(code)
	if err != nil {
		return e, false, "status.errorCode: " + err.Error()
	}
	e.Outcome = outcome
	if outcome != OutcomeSuccess {
		e.FailureReason = strings.TrimSpace(reason)
	}
	return e, false, ""
}

// entraOutcome maps a sign-in error code ("" when the record has no status).
func entraOutcome(code string) (Outcome, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return OutcomeUnknown, nil
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return OutcomeUnknown, &fieldError{fmt.Sprintf("%q is not a number", clip(code))}
	}
	switch {
	case n == 0:
		return OutcomeSuccess, nil
	case entraInterruptions[n]:
		return OutcomeInterrupted, nil
	}
	return OutcomeFailure, nil
}

// --- permission-grant snapshots ---------------------------------------------------------------

type entraSnapshot struct {
	sps       map[string]entraSP
	users     map[string]string // user object id → e-mail
	grants    []pendingGrant
	hasGrants bool
	tenantID  string
	timeText  string
}

type entraSP struct {
	ID                     string `json:"id"`
	AppID                  string `json:"appId"`
	AppDisplayName         string `json:"appDisplayName"`
	DisplayName            string `json:"displayName"`
	AppOwnerOrganizationID string `json:"appOwnerOrganizationId"`
}

type entraUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

type entraGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

type pendingGrant struct {
	entraGrant
	line    int
	excerpt []byte
}

func (r *entraRun) servicePrincipal(s *entraSnapshot) error {
	var sp entraSP
	pos, bad, err := r.js.decode(&sp)
	if err != nil {
		return err
	}
	switch {
	case bad != nil:
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "service principal: %v", bad)
	case strings.TrimSpace(sp.ID) == "":
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "service principal without an id")
	}
	s.sps[strings.ToLower(strings.TrimSpace(sp.ID))] = sp
	return r.sink.skipped() // reference data, not usage
}

func (r *entraRun) user(s *entraSnapshot) error {
	var u entraUser
	pos, bad, err := r.js.decode(&u)
	if err != nil {
		return err
	}
	if bad != nil || strings.TrimSpace(u.ID) == "" {
		why := "user without an id"
		if bad != nil {
			why = "user: " + bad.Error()
		}
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "%s", why)
	}
	email := normalizeEmail(u.Mail)
	if upn := normalizeEmail(u.UserPrincipalName); upn != "" {
		email = upn
	}
	s.users[strings.ToLower(strings.TrimSpace(u.ID))] = email
	return r.sink.skipped()
}

func (r *entraRun) grant(s *entraSnapshot) error {
	var g entraGrant
	pos, bad, err := r.js.decode(&g)
	if err != nil {
		return err
	}
	raw := r.js.raw(pos, maxExcerptSize)
	switch {
	case bad != nil:
		return r.sink.rejected(pos.line, raw, "grant: %v", bad)
	case strings.TrimSpace(g.ID) == "":
		return r.sink.rejected(pos.line, raw, "grant without an id")
	case strings.TrimSpace(g.ClientID) == "":
		return r.sink.rejected(pos.line, raw, "grant without a clientId")
	}
	s.grants = append(s.grants, pendingGrant{entraGrant: g, line: pos.line, excerpt: append([]byte(nil), raw...)})
	return nil
}

// resolve joins a snapshot's grants to its service principals and emits them.
func (r *entraRun) resolve(s *entraSnapshot, pos recPos) error {
	if !s.hasGrants {
		return nil
	}
	at := r.p.SnapshotTime
	if at.IsZero() {
		if s.timeText == "" {
			return r.in.errorf(pos.line, nil, "a permission-grant snapshot needs its time: add \"snapshotTime\" to the object or pass WithSnapshotTime")
		}
		t, err := parseTime(s.timeText)
		if err != nil {
			return r.in.errorf(pos.line, err, "snapshotTime: %v", err)
		}
		at = t
	}
	at = at.UTC()
	for _, g := range s.grants {
		sp, ok := s.sps[strings.ToLower(strings.TrimSpace(g.ClientID))]
		if !ok {
			if err := r.sink.rejected(g.line, g.excerpt, "grant's clientId %s matches no service principal in the snapshot", clip(g.ClientID)); err != nil {
				return err
			}
			continue
		}
		owner := strings.ToLower(strings.TrimSpace(sp.AppOwnerOrganizationID))
		if microsoftTenants[owner] || (owner != "" && owner == s.tenantID) {
			if err := r.sink.skipped(); err != nil {
				return err
			}
			continue
		}
		e := UsageEvent{
			OccurredAt:    at,
			Source:        SourceEntra,
			SourceEventID: "grant:" + strings.TrimSpace(g.ID),
			Kind:          KindOAuthGrant,
			Outcome:       OutcomeSuccess,
			AppName:       strings.TrimSpace(sp.AppDisplayName),
			ClientID:      strings.TrimSpace(sp.AppID),
			Scopes:        strings.Fields(g.Scope),
		}
		if e.AppName == "" {
			e.AppName = strings.TrimSpace(sp.DisplayName)
		}
		if strings.EqualFold(g.ConsentType, "Principal") {
			e.UserID = strings.TrimSpace(g.PrincipalID)
			e.UserEmail = s.users[strings.ToLower(e.UserID)]
		}
		e.AppKey = appKey(e.AppName, KeyEntra, strings.ToLower(e.ClientID))
		if e.AppKey == "" {
			if err := r.sink.rejected(g.line, g.excerpt, "the grant's service principal has no appId or name"); err != nil {
				return err
			}
			continue
		}
		if err := r.sink.emitted(e); err != nil {
			return err
		}
	}
	s.grants = nil
	return nil
}

// --- the admin portal's CSV download ----------------------------------------------------------

type entraCols struct {
	time, id, username, user, userID, app, appID, ip, status, code, reason, ua, browser int
	names                                                                               []string
}

// entraCSVColumns maps the portal's header; the first of repeated names wins.
func entraCSVColumns(header []string) (entraCols, error) {
	idx := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, ok := idx[k]; !ok {
			idx[k] = i
		}
	}
	find := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	c := entraCols{names: header}
	c.time = find("date (utc)", "date", "created date time (utc)", "createddatetime")
	c.id = find("request id", "id", "requestid")
	c.username = find("username", "user principal name", "userprincipalname")
	c.user = find("user")
	c.userID = find("user id", "userid")
	c.app = find("application", "app display name", "appdisplayname")
	c.appID = find("application id", "app id", "appid")
	c.ip = find("ip address", "ipaddress")
	c.status = find("status")
	c.code = find("sign-in error code", "error code", "errorcode")
	c.reason = find("failure reason", "failurereason")
	c.ua = find("user agent", "useragent")
	c.browser = find("browser")
	var missing []string
	if c.time < 0 {
		missing = append(missing, `"Date (UTC)"`)
	}
	if c.id < 0 {
		missing = append(missing, `"Request ID"`)
	}
	if c.username < 0 && c.user < 0 && c.userID < 0 {
		missing = append(missing, `"Username"`)
	}
	if c.app < 0 && c.appID < 0 {
		missing = append(missing, `"Application"`)
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("no %s column in the header", strings.Join(missing, ", "))
	}
	return c, nil
}

func (r *entraRun) parseCSV() error {
	cs, err := newCSVStream(r.in)
	if err != nil {
		return err
	}
	cols, err := entraCSVColumns(cs.header)
	if err != nil {
		return r.in.wrongFormat(cs.headerLine(), nil, err.Error()+" (the admin portal's sign-in download has one)")
	}
	for {
		row, line, bad, err := cs.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if bad != nil {
			err = r.sink.rejected(line, nil, "%v", bad)
		} else if e, why := cols.event(row); why != "" {
			err = r.sink.rejected(line, cs.rowText(row), "%s", why)
		} else {
			err = r.sink.emitted(e)
		}
		if err != nil {
			return err
		}
	}
}

func (c *entraCols) event(row []string) (UsageEvent, string) {
	e := UsageEvent{Source: SourceEntra, Kind: KindSSOLogin}
	if rowHasNUL(row) {
		return e, "the row holds binary data"
	}
	if e.SourceEventID = field(row, c.id); e.SourceEventID == "" {
		return e, fmt.Sprintf("missing %q", c.names[c.id])
	}
	when := field(row, c.time)
	if when == "" {
		return e, fmt.Sprintf("missing %q", c.names[c.time])
	}
	t, err := parseTime(when)
	if err != nil {
		return e, fmt.Sprintf("%s: %v", strings.TrimSpace(c.names[c.time]), err)
	}
	e.OccurredAt = t
	e.UserEmail = normalizeEmail(field(row, c.username))
	if e.UserEmail == "" {
		e.UserEmail = normalizeEmail(field(row, c.user))
	}
	e.UserID = field(row, c.userID)
	if e.UserEmail == "" && e.UserID == "" {
		return e, "missing \"Username\""
	}
	e.AppName = field(row, c.app)
	e.ClientID = field(row, c.appID)
	e.AppKey = appKey(e.AppName, KeyEntra, strings.ToLower(e.ClientID))
	if e.AppKey == "" {
		return e, "missing \"Application\" and \"Application ID\""
	}
	e.IP = field(row, c.ip)
	e.UserAgent = field(row, c.ua)
	if e.UserAgent == "" {
		e.UserAgent = field(row, c.browser)
	}
	switch strings.ToLower(field(row, c.status)) {
	case "success":
		e.Outcome = OutcomeSuccess
	case "failure":
		e.Outcome = OutcomeFailure
	case "interrupted":
		e.Outcome = OutcomeInterrupted
	default:
		o, err := entraOutcome(field(row, c.code))
		if err != nil {
			return e, fmt.Sprintf("%s: %v", strings.TrimSpace(c.names[c.code]), err)
		}
		e.Outcome = o
	}
	if e.Outcome != OutcomeSuccess {
		e.FailureReason = field(row, c.reason)
	}
	return e, ""
}
