package discovery

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// GoogleParser reads Google Workspace Admin SDK Reports API activities (activities.list):
// response pages {"kind":"admin#reports#activities", "items":[…], "nextPageToken":…} (one or
// several, saved one after another or one per line), one activity per line (NDJSON), or a plain
// array of activities. A page without "items" (Google leaves it out when a page is empty) reads
// as nothing.
//
// An activity holds an array of events; each event is one record:
//   - applicationName "token": "authorize" → oauth_grant, "revoke" → oauth_revoke, with
//     parameters app_name, client_id, scope (multiValue) → AppKey google:<client_id> (else
//     name:<normalised app_name>), Scopes; other token events ("activity", "request") are skipped;
//   - "saml": "login_success" / "login_failure" → sso_login success / failure, parameter
//     application_name → AppKey name:<normalised>, failure_type → FailureReason;
//   - "login" (sign-ins to Google itself) and every other application are skipped.
//
// SourceEventID is id.time/id.uniqueQualifier/event index/event name: the qualifier is not unique
// per event, and it arrives as a JSON number or string, possibly negative; it is read as an int64
// and written in decimal, so both spellings give the same key.
type GoogleParser struct{}

// Format implements Parser.
func (*GoogleParser) Format() string { return FormatGoogle }

type googleActivity struct {
	Kind string `json:"kind"`
	ID   *struct {
		Time            string     `json:"time"`
		UniqueQualifier flexString `json:"uniqueQualifier"`
		ApplicationName string     `json:"applicationName"`
	} `json:"id"`
	Actor *struct {
		Email     string `json:"email"`
		ProfileID string `json:"profileId"`
	} `json:"actor"`
	IPAddress string        `json:"ipAddress"`
	Events    []googleEvent `json:"events"`
}

type googleEvent struct {
	Name       string        `json:"name"`
	Parameters []googleParam `json:"parameters"`
}

type googleParam struct {
	Name       string       `json:"name"`
	Value      flexString   `json:"value"`
	IntValue   flexString   `json:"intValue"`
	BoolValue  flexString   `json:"boolValue"`
	MultiValue []flexString `json:"multiValue"`
}

// Parse implements Parser.
func (p *GoogleParser) Parse(ctx context.Context, r io.Reader, emit func(UsageEvent) error, reject func(Rejection) error) (Stats, error) {
	in, err := prepare(FormatGoogle, r)
	if err != nil {
		return Stats{}, err
	}
	run := &googleRun{in: in, js: newJSONStream(in), sink: newSink(ctx, emit, reject)}
	err = run.js.eachRecord(run.element, run.topObject)
	return run.sink.stats, err
}

type googleRun struct {
	in      *input
	js      *jsonStream
	sink    *sink
	records int
}

func (r *googleRun) topObject() error {
	var act googleActivity
	pos, container, bad, err := r.js.walkObject(&act, func(key string) (bool, error) {
		if key != "items" {
			return false, nil
		}
		tok, err := r.js.dec.Token()
		if err != nil {
			return true, r.js.fatal(err, r.js.dec.InputOffset(), 0)
		}
		if tok == nil {
			return true, nil
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return true, r.in.errorf(r.js.tr.lineAt(r.js.dec.InputOffset()), nil, "\"items\" should be an array of activities")
		}
		return true, r.js.eachElement(r.element)
	})
	if err != nil || container {
		return err
	}
	if act.Kind == "admin#reports#activities" {
		return nil // an empty page
	}
	return r.activity(&act, pos, bad)
}

func (r *googleRun) element() error {
	var act googleActivity
	pos, bad, err := r.js.decode(&act)
	if err != nil {
		return err
	}
	return r.activity(&act, pos, bad)
}

func (r *googleRun) activity(act *googleActivity, pos recPos, bad error) error {
	r.records++
	hasID := act.ID != nil && (act.ID.Time != "" || act.ID.UniqueQualifier != "" || act.ID.ApplicationName != "")
	if !hasID && len(act.Events) == 0 && act.Kind != "admin#reports#activity" {
		if r.records == 1 {
			return r.in.wrongFormat(pos.line, r.js.raw(pos, sniffSize), "the first record has no id or events")
		}
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), "not a Google Workspace activity: no id or events")
	}
	reject := func(format string, args ...any) error {
		return r.sink.rejected(pos.line, r.js.raw(pos, maxExcerptSize), format, args...)
	}
	if bad != nil {
		return reject("%v", bad)
	}
	if act.ID == nil {
		return reject("no id")
	}
	t, err := parseTime(act.ID.Time)
	if err != nil {
		return reject("id.time: %v", err)
	}
	uqText := strings.TrimSpace(string(act.ID.UniqueQualifier))
	if uqText == "" {
		return reject("no id.uniqueQualifier")
	}
	uq, err := strconv.ParseInt(uqText, 10, 64)
	if err != nil {
		return reject("id.uniqueQualifier %q is not a 64-bit integer", clip(uqText))
	}
	if len(act.Events) == 0 {
		return r.sink.skipped()
	}
	app := strings.ToLower(strings.TrimSpace(act.ID.ApplicationName))
	prefix := t.Format(time.RFC3339Nano) + "/" + strconv.FormatInt(uq, 10) + "/"
	for i := range act.Events {
		ev := &act.Events[i]
		e, skip, why := googleToEvent(app, act, ev)
		if skip {
			if err := r.sink.skipped(); err != nil {
				return err
			}
			continue
		}
		if why != "" {
			if err := reject("event %d (%s): %s", i, clip(ev.Name), why); err != nil {
				return err
			}
			continue
		}
		e.OccurredAt = t
		e.SourceEventID = prefix + strconv.Itoa(i) + "/" + ev.Name
		if err := r.sink.emitted(e); err != nil {
			return err
		}
	}
	return nil
}

func googleToEvent(app string, act *googleActivity, ev *googleEvent) (e UsageEvent, skip bool, why string) {
	e = UsageEvent{Source: SourceGoogle, Kind: KindSSOLogin, Outcome: OutcomeSuccess}
	switch app {
	case "token":
		switch ev.Name {
		case "authorize":
			e.Kind = KindOAuthGrant
		case "revoke":
			e.Kind = KindOAuthRevoke
		default:
			return e, true, ""
		}
	case "saml":
		switch ev.Name {
		case "login_success":
		case "login_failure":
			e.Outcome = OutcomeFailure
		default:
			return e, true, ""
		}
	default:
		return e, true, ""
	}
	if act.Actor != nil {
		e.UserEmail = normalizeEmail(act.Actor.Email)
		e.UserID = strings.TrimSpace(act.Actor.ProfileID)
	}
	if e.UserEmail == "" && e.UserID == "" {
		return e, false, "no actor.email or actor.profileId"
	}
	e.IP = strings.TrimSpace(act.IPAddress)
	for _, p := range ev.Parameters {
		switch p.Name {
		case "app_name", "application_name":
			e.AppName = strings.TrimSpace(string(p.Value))
		case "client_id":
			e.ClientID = strings.TrimSpace(string(p.Value))
		case "scope":
			for _, s := range p.MultiValue {
				if v := strings.TrimSpace(string(s)); v != "" {
					e.Scopes = append(e.Scopes, v)
				}
			}
			if len(p.MultiValue) == 0 {
				e.Scopes = append(e.Scopes, strings.Fields(string(p.Value))...)
			}
		case "failure_type":
			if e.Outcome == OutcomeFailure {
				e.FailureReason = strings.TrimSpace(string(p.Value))
			}
		}
	}
	e.AppKey = appKey(e.AppName, KeyGoogle, e.ClientID)
	if e.AppKey == "" {
		if app == "saml" {
			return e, false, "no application_name parameter"
		}
		return e, false, "no app_name or client_id parameter"
	}
	return e, false, ""
}
