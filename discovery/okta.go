package discovery

import (
	"context"
	"encoding/json"
	"io"
	"strings"
)

// OktaParser reads the Okta System Log as returned by GET /api/v1/logs: a JSON array of events,
// or one event object per line (NDJSON), possibly several arrays one after another (saved pages).
//
// Mapping (DESIGN.md §4):
//   - user.authentication.sso (legacy app.auth.sso) → sso_login; the app is the target of type
//     AppInstance. AppKey is domain:<host of debugContext.debugData.audience> for SAML apps with
//     a URL audience, else okta:<app instance id>, else name:<normalised displayName>.
//   - app.oauth2[.as].consent.grant → oauth_grant, …consent.revoke* → oauth_revoke. The client
//     is target[].detailEntry.publicclientapp and the event names no app, so AppKey is
//     okta-client:<id>, AppName is empty unless an AppInstance target is present; the scopes are
//     the displayNames of the ConsentGrant targets.
//   - app.oauth2[.as].authorize* → sso_login when the app can be identified (an OIDC sign-in).
//   - Everything else (user.session.start, policy evaluations, token grants, …) is skipped.
//
// outcome.result SUCCESS/ALLOW → success, FAILURE/DENY → failure, CHALLENGE → interrupted,
// anything else → unknown. SourceEventID is the event's uuid; Okta may deliver the same uuid
// twice, and both copies are emitted (the store keeps one).
type OktaParser struct {
	// Workers is how many goroutines decode records (default: one per CPU). With 1, reading
	// and decoding share one goroutine.
	Workers int
	// slowReader reads with encoding/json only (tests compare it with the fast reader).
	slowReader bool
}

// Format implements Parser.
func (*OktaParser) Format() string { return FormatOkta }

type oktaEvent struct {
	UUID            string            `json:"uuid"`
	Published       string            `json:"published"`
	EventType       string            `json:"eventType"`
	LegacyEventType string            `json:"legacyEventType"`
	Actor           *oktaActor        `json:"actor"`
	Client          *oktaClient       `json:"client"`
	Outcome         *oktaOutcome      `json:"outcome"`
	Target          []oktaTarget      `json:"target"`
	DebugContext    *oktaDebugContext `json:"debugContext"`
}

type oktaActor struct {
	ID          string `json:"id"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

type oktaClient struct {
	IPAddress string         `json:"ipAddress"`
	UserAgent *oktaUserAgent `json:"userAgent"`
}

type oktaUserAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
}

type oktaOutcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

type oktaDebugContext struct {
	DebugData *oktaDebugData `json:"debugData"`
}

type oktaDebugData struct {
	Audience flexString `json:"audience"`
}

type oktaTarget struct {
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	AlternateID string           `json:"alternateId"`
	DisplayName string           `json:"displayName"`
	DetailEntry *oktaDetailEntry `json:"detailEntry"`
}

type oktaDetailEntry struct {
	PublicClientApp flexString `json:"publicclientapp"`
}

// Parse implements Parser.
func (p *OktaParser) Parse(ctx context.Context, r io.Reader, emit func(UsageEvent) error, reject func(Rejection) error) (Stats, error) {
	in, err := prepare(FormatOkta, r)
	if err != nil {
		return Stats{}, err
	}
	run := oktaRun{in: in, js: newJSONStream(in), sink: newSink(ctx, emit, reject)}
	read := func(next func(rawRecord) error) error { return eachRawFast(in, next) }
	if p.slowReader {
		read = run.js.eachRaw
	}
	if n := orDefault(p.Workers, parseWorkers()); n > 1 {
		err = parseParallel(ctx, n, read, decodeOkta, run.apply)
	} else {
		err = read(func(rec rawRecord) error { return run.apply(rec, decodeOkta(rec)) })
	}
	return run.sink.stats, err
}

type oktaRun struct {
	in      *input
	js      *jsonStream
	sink    *sink
	records int
}

// oktaResult is what one record decodes to.
type oktaResult struct {
	empty bool  // no uuid, eventType or published: not an Okta event
	bad   error // a field of the wrong JSON type
	e     UsageEvent
	skip  bool   // not about an app
	why   string // why the event cannot be used
}

func resultOf(ev *oktaEvent, bad error) oktaResult {
	if ev.UUID == "" && ev.EventType == "" && ev.Published == "" && ev.LegacyEventType == "" {
		return oktaResult{empty: true}
	}
	if bad != nil {
		return oktaResult{bad: bad}
	}
	var res oktaResult
	res.e, res.skip, res.why = oktaToEvent(ev)
	return res
}

// decodeOkta decodes and maps one record whose JSON the reader has checked; it runs on a parse
// worker.
func decodeOkta(rec rawRecord) oktaResult {
	var ev oktaEvent
	if decodeOktaFast(rec.raw, &ev) {
		return resultOf(&ev, nil)
	}
	return decodeOktaStd(rec.raw)
}

// decodeOktaStd decodes a record with encoding/json. The JSON is valid, so an error here is a
// value of the wrong type.
func decodeOktaStd(raw []byte) oktaResult {
	var ev oktaEvent
	var bad error
	if err := json.Unmarshal(raw, &ev); err != nil {
		bad = describeValueError(err)
	}
	return resultOf(&ev, bad)
}

// apply counts one record's result, in input order.
func (r *oktaRun) apply(rec rawRecord, res oktaResult) error {
	r.records++
	switch {
	case res.empty && r.records == 1:
		return r.in.wrongFormat(rec.line, head(rec.raw, sniffSize), "the first record has no uuid, eventType or published field")
	case res.empty:
		return r.sink.rejected(rec.line, head(rec.raw, maxExcerptSize), "not an Okta System Log event: no uuid, eventType or published")
	case res.bad != nil:
		return r.sink.rejected(rec.line, head(rec.raw, maxExcerptSize), "%v", res.bad)
	case res.skip:
		return r.sink.skipped()
	case res.why != "":
		return r.sink.rejected(rec.line, head(rec.raw, maxExcerptSize), "%s", res.why)
	}
	return r.sink.emitted(res.e)
}

// oktaToEvent maps one System Log event. skip says it is not about an app; why, when not empty,
// says why it cannot be used.
func oktaToEvent(ev *oktaEvent) (e UsageEvent, skip bool, why string) {
	et := ev.EventType
	var kind EventKind
	switch {
	case et == "user.authentication.sso" || et == "app.auth.sso" || (et == "" && ev.LegacyEventType == "app.auth.sso"):
		kind = KindSSOLogin
	case strings.HasPrefix(et, "app.oauth2."):
		rest := strings.TrimPrefix(strings.TrimPrefix(et, "app.oauth2."), "as.")
		switch {
		case rest == "consent.grant":
			kind = KindOAuthGrant
		case strings.HasPrefix(rest, "consent.revoke"):
			kind = KindOAuthRevoke
		case strings.HasPrefix(rest, "authorize"):
			kind = KindSSOLogin
		default:
			return e, true, ""
		}
	case et == "":
		return e, false, "no eventType"
	default:
		return e, true, ""
	}

	e.Source = SourceOkta
	e.Kind = kind
	e.SourceEventID = strings.TrimSpace(ev.UUID)
	if e.SourceEventID == "" {
		return e, false, "no uuid"
	}
	t, err := parseTime(ev.Published)
	if err != nil {
		return e, false, "published: " + err.Error()
	}
	e.OccurredAt = t
	if ev.Actor != nil {
		e.UserID = strings.TrimSpace(ev.Actor.ID)
		e.UserEmail = normalizeEmail(ev.Actor.AlternateID)
	}
	if e.UserID == "" && e.UserEmail == "" {
		return e, false, "no actor: the event names no user"
	}
	if ev.Client != nil {
		e.IP = strings.TrimSpace(ev.Client.IPAddress)
		if ev.Client.UserAgent != nil {
			e.UserAgent = ev.Client.UserAgent.RawUserAgent
		}
	}
	e.Outcome = OutcomeUnknown
	if ev.Outcome != nil {
		switch strings.ToUpper(strings.TrimSpace(ev.Outcome.Result)) {
		case "SUCCESS", "ALLOW":
			e.Outcome = OutcomeSuccess
		case "FAILURE", "DENY":
			e.Outcome = OutcomeFailure
		case "CHALLENGE":
			e.Outcome = OutcomeInterrupted
		}
		if e.Outcome != OutcomeSuccess {
			e.FailureReason = strings.TrimSpace(ev.Outcome.Reason)
		}
	}

	var app *oktaTarget
	for i := range ev.Target {
		t := &ev.Target[i]
		switch t.Type {
		case "AppInstance":
			if app == nil {
				app = t
			}
		case "ConsentGrant":
			if s := strings.TrimSpace(t.DisplayName); s != "" {
				e.Scopes = append(e.Scopes, s)
			}
		}
		if t.DetailEntry != nil && e.ClientID == "" {
			e.ClientID = strings.TrimSpace(string(t.DetailEntry.PublicClientApp))
		}
	}
	var instanceID string
	if app != nil {
		instanceID = strings.TrimSpace(app.ID)
		e.AppName = strings.TrimSpace(app.DisplayName)
		if e.AppName == "" {
			e.AppName = strings.TrimSpace(app.AlternateID)
		}
	}
	if ev.DebugContext != nil && ev.DebugContext.DebugData != nil {
		e.Domain = normalizeHost(string(ev.DebugContext.DebugData.Audience))
	}

	switch kind {
	case KindSSOLogin:
		if app == nil && e.ClientID == "" {
			if strings.HasPrefix(et, "app.oauth2.") {
				return e, true, "" // an OAuth authorize event that names no app
			}
			return e, false, "sign-in event without an AppInstance target: the app is unknown"
		}
		if e.ClientID == "" {
			e.ClientID = instanceID
		}
		e.AppKey = appKey(e.AppName, KeyDomain, e.Domain, KeyOkta, instanceID, KeyOktaClient, e.ClientID)
	default: // consent grant or revoke
		if e.ClientID == "" && app != nil {
			e.ClientID = instanceID
		}
		if e.ClientID == "" {
			return e, false, "consent event without target[].detailEntry.publicclientapp: the client is unknown"
		}
		e.AppKey = KeyOktaClient + e.ClientID
	}
	if e.AppKey == "" {
		return e, false, "the app has neither an id nor a name"
	}
	return e, false, ""
}
