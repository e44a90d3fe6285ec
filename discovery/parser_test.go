package discovery

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, format, in string, opts ...Option) parsed {
	t.Helper()
	return parseReader(t, format, strings.NewReader(in), opts...)
}

func TestParserFor(t *testing.T) {
	for _, f := range Formats() {
		p, err := ParserFor(f)
		if err != nil || p.Format() != f {
			t.Errorf("ParserFor(%q) = %v, %v", f, p, err)
		}
	}
	if p, err := ParserFor(" Okta "); err != nil || p.Format() != FormatOkta {
		t.Errorf("ParserFor is not forgiving about case and spaces: %v", err)
	}
	if _, err := ParserFor("auth0"); err == nil || !strings.Contains(err.Error(), "okta, entra, google, csv") {
		t.Errorf("ParserFor(auth0) error = %v", err)
	}
}

func TestOktaRecords(t *testing.T) {
	in := `[
 {"uuid":"a1","published":"2024-03-05T14:22:31.123Z","eventType":"user.authentication.sso","legacyEventType":"app.auth.sso",
  "actor":{"id":"00u1","alternateId":"Alice@Northwind.example"},
  "client":{"zone":"null","ipAddress":"52.44.1.2","userAgent":{"rawUserAgent":"UA/1"}},
  "outcome":{"result":"SUCCESS","reason":null},
  "target":[{"id":"0oaS","type":"AppInstance","alternateId":"Slack","displayName":"Slack","detailEntry":{"signOnModeType":"SAML_2_0"}}],
  "debugContext":{"debugData":{"audience":"https://northwind.slack.com"}}},
 {"uuid":"a2","published":"2024-03-05T14:23:00.000Z","eventType":"user.session.start","actor":{"id":"00u1"},"client":{"zone":"null"},"target":null},
 {"uuid":"a3","published":"2024-03-05T14:24:00.000Z","eventType":"user.authentication.sso","actor":{"id":"00u2","alternateId":"nokafor"},
  "outcome":{"result":"CHALLENGE","reason":"MFA"},"target":[{"id":"0oaA","type":"AppInstance","displayName":"Amazon Web Services"}],
  "debugContext":{"debugData":{"audience":"urn:amazon:webservices"}}},
 {"uuid":"a4","published":"2024-03-05T14:25:00.000Z","eventType":"app.oauth2.consent.grant","actor":{"id":"00u1","alternateId":"alice@northwind.example"},
  "outcome":{"result":"SUCCESS"},"target":[
   {"id":"oag1","type":"ConsentGrant","displayName":"okta.users.read","detailEntry":{"publicclientapp":"0oaC"}},
   {"id":"oag2","type":"ConsentGrant","displayName":"openid","detailEntry":{"publicclientapp":"0oaC"}}]},
 {"uuid":"a5","published":"2024-03-05T14:26:00.000Z","eventType":"app.oauth2.as.consent.revoke.implicit.as","actor":{"id":"00u1"},
  "outcome":{"result":"SUCCESS"},"target":[{"type":"ConsentGrant","displayName":"openid","detailEntry":{"publicclientapp":"0oaC"}}]},
 {"uuid":"a6","published":"2024-03-05T14:27:00.000Z","eventType":"user.authentication.sso","actor":{"id":"00u1"},"target":null},
 {"uuid":"a1","published":"2024-03-05T14:22:31.123Z","eventType":"user.authentication.sso","actor":{"id":"00u1","alternateId":"alice@northwind.example"},
  "outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"target":[{"id":"0oaS","type":"AppInstance","displayName":"Slack"}]},
 {"uuid":"a7","published":"2024-03-05T14:28:00.000Z","eventType":"app.oauth2.as.token.grant.access_token","actor":{"id":"00u1"}}
]`
	got := parseString(t, "okta", in)
	if got.err != nil {
		t.Fatal(got.err)
	}
	if want := (Stats{Read: 8, Emitted: 5, Skipped: 2, Rejected: 1}); got.stats != want {
		t.Errorf("stats = %+v, want %+v", got.stats, want)
	}
	want := []UsageEvent{
		{OccurredAt: time.Date(2024, 3, 5, 14, 22, 31, 123e6, time.UTC), Source: SourceOkta, SourceEventID: "a1",
			UserEmail: "alice@northwind.example", UserID: "00u1", AppKey: "domain:northwind.slack.com", AppName: "Slack",
			ClientID: "0oaS", Domain: "northwind.slack.com", Kind: KindSSOLogin, Outcome: OutcomeSuccess, IP: "52.44.1.2", UserAgent: "UA/1"},
		{OccurredAt: time.Date(2024, 3, 5, 14, 24, 0, 0, time.UTC), Source: SourceOkta, SourceEventID: "a3", UserID: "00u2",
			AppKey: "okta:0oaA", AppName: "Amazon Web Services", ClientID: "0oaA", Kind: KindSSOLogin, Outcome: OutcomeInterrupted, FailureReason: "MFA"},
		{OccurredAt: time.Date(2024, 3, 5, 14, 25, 0, 0, time.UTC), Source: SourceOkta, SourceEventID: "a4", UserEmail: "alice@northwind.example",
			UserID: "00u1", AppKey: "okta-client:0oaC", ClientID: "0oaC", Kind: KindOAuthGrant, Outcome: OutcomeSuccess, Scopes: []string{"okta.users.read", "openid"}},
		{OccurredAt: time.Date(2024, 3, 5, 14, 26, 0, 0, time.UTC), Source: SourceOkta, SourceEventID: "a5", UserID: "00u1",
			AppKey: "okta-client:0oaC", ClientID: "0oaC", Kind: KindOAuthRevoke, Outcome: OutcomeSuccess, Scopes: []string{"openid"}},
		// The same uuid again (Okta may deliver an event twice): emitted, the store keeps one.
		{OccurredAt: time.Date(2024, 3, 5, 14, 22, 31, 123e6, time.UTC), Source: SourceOkta, SourceEventID: "a1",
			UserEmail: "alice@northwind.example", UserID: "00u1", AppKey: "okta:0oaS", AppName: "Slack", ClientID: "0oaS",
			Kind: KindSSOLogin, Outcome: OutcomeFailure, FailureReason: "INVALID_CREDENTIALS"},
	}
	if len(got.events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got.events), len(want), got.events)
	}
	for i := range want {
		if !eventsEqual(got.events[i], want[i]) {
			t.Errorf("event %d:\n got  %+v\n want %+v", i, got.events[i], want[i])
		}
	}
	if len(got.rejs) != 1 || got.rejs[0].Line != 18 || !strings.Contains(got.rejs[0].Reason, "AppInstance") ||
		!strings.HasPrefix(got.rejs[0].Excerpt, `{"uuid":"a6"`) {
		t.Errorf("rejections = %+v", got.rejs)
	}
}

func eventsEqual(a, b UsageEvent) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) || !slices.Equal(a.Scopes, b.Scopes) {
		return false
	}
	a.OccurredAt, b.OccurredAt = time.Time{}, time.Time{}
	a.Scopes, b.Scopes = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestOktaShapes(t *testing.T) {
	ev := `{"uuid":"%s","published":"2024-03-05T14:22:31.123Z","eventType":"user.authentication.sso","actor":{"id":"00u1"},"target":[{"id":"0oa1","type":"AppInstance","displayName":"Box"}]}`
	one := func(id string) string { return strings.Replace(ev, "%s", id, 1) }
	for name, in := range map[string]string{
		"array":            "[" + one("a") + "," + one("b") + "]",
		"ndjson":           one("a") + "\n" + one("b") + "\n",
		"ndjson crlf":      one("a") + "\r\n" + one("b") + "\r\n",
		"ndjson no eol":    one("a") + "\n" + one("b"),
		"two saved arrays": "[" + one("a") + "]\n[" + one("b") + "]",
		"bom":              "\uFEFF[" + one("a") + "," + one("b") + "]",
	} {
		got := parseString(t, "okta", in)
		if got.err != nil || got.stats.Emitted != 2 || got.events[1].SourceEventID != "b" {
			t.Errorf("%s: %+v, %v", name, got.stats, got.err)
		}
	}
}

func TestJSONLineNumbers(t *testing.T) {
	// Rejections name the line where the record starts, also in indented arrays.
	in := "[\n  {\n    \"uuid\": \"a\",\n    \"eventType\": \"user.authentication.sso\",\n    \"published\": \"bad\"\n  }, {\n" +
		"    \"uuid\": \"b\", \"eventType\": \"user.authentication.sso\",\n    \"published\": 5\n  }\n  ,\n\n  {\"uuid\": \"c\", \"eventType\": \"user.authentication.sso\"}\n]\n"
	got := parseString(t, "okta", in)
	if got.err != nil {
		t.Fatal(got.err)
	}
	var lines []int
	for _, r := range got.rejs {
		lines = append(lines, r.Line)
	}
	if !slices.Equal(lines, []int{2, 6, 12}) {
		t.Errorf("rejected lines %v, want [2 6 12]; %+v", lines, got.rejs)
	}
	// A syntax error names its own line and the record's.
	_, err := parseStringErr("okta", "[\n{\"uuid\":\"a\",\n\"eventType\":\"x\",\n\"published\" \"2024\"}\n]")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(err.Error(), "starts at line 2") {
		t.Errorf("syntax error: %v", err)
	}
}

func parseStringErr(format, in string) (Stats, error) {
	p, _ := ParserFor(format)
	return p.Parse(context.Background(), strings.NewReader(in), nil, nil)
}

func TestCallbackErrorsStopTheParse(t *testing.T) {
	data, err := os.ReadFile("testdata/okta/logs_array.json")
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("store is full")
	p, _ := ParserFor("okta")
	n := 0
	st, err := p.Parse(context.Background(), bytes.NewReader(data), func(UsageEvent) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || st.Emitted != 10 {
		t.Errorf("emit error: %v after %+v", err, st)
	}
	st, err = p.Parse(context.Background(), bytes.NewReader(data), nil, func(Rejection) error { return stop })
	if !errors.Is(err, stop) || st.Rejected != 1 {
		t.Errorf("reject error: %v after %+v", err, st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err = p.Parse(ctx, bytes.NewReader(data), nil, nil)
	if !errors.Is(err, context.Canceled) || st.Read > 64 {
		t.Errorf("cancelled: %v after %+v", err, st)
	}
}

func TestGzipIsTransparent(t *testing.T) {
	for _, f := range []struct{ format, path string }{
		{"okta", "testdata/okta/logs.ndjson"}, {"entra", "testdata/entra/portal_signins.csv"},
		{"csv", "testdata/csv/casb_export.csv"}, {"entra", "testdata/entra/permission_grants.json"},
	} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		plain := parseReader(t, f.format, bytes.NewReader(data))
		packed := parseReader(t, f.format, &z)
		if plain.err != nil || packed.err != nil || plain.stats != packed.stats || len(plain.events) != len(packed.events) {
			t.Errorf("%s: plain %+v %v, gzip %+v %v", f.path, plain.stats, plain.err, packed.stats, packed.err)
		}
	}
}

func TestEntraOutcomesAndTimes(t *testing.T) {
	in := `{"value":[
{"id":"s1","createdDateTime":"2024-03-05T14:22:31.1234567Z","userPrincipalName":"A@x.example","appId":"APP-1","appDisplayName":"Slack","status":{"errorCode":0}},
{"id":"s2","createdDateTime":"2024-03-05T14:22:31Z","userPrincipalName":"a@x.example","appId":"app-1","status":{"errorCode":50140,"failureReason":"KMSI"}},
{"id":"s3","createdDateTime":"2024-03-05T14:22:31Z","userPrincipalName":"a@x.example","appId":"app-1","status":{"errorCode":"50126","failureReason":"bad password"}},
{"id":"s4","createdDateTime":"2024-03-05T14:22:31Z","userPrincipalName":"a@x.example","appDisplayName":"Acme (SSO)"},
{"id":"s5","createdDateTime":"03/05/2024 14:22:31","userPrincipalName":"a@x.example","appId":"app-1"},
{"id":"s6","createdDateTime":"2024-03-05T14:22:31Z","userPrincipalName":"a@x.example","appId":"app-1","status":{"errorCode":"n/a"}},
{"id":"","createdDateTime":"2024-03-05T14:22:31Z","userPrincipalName":"a@x.example","appId":"app-1"}
],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}`
	got := parseString(t, "entra", in)
	if got.err != nil {
		t.Fatal(got.err)
	}
	var outcomes []Outcome
	for _, e := range got.events {
		outcomes = append(outcomes, e.Outcome)
	}
	if !slices.Equal(outcomes, []Outcome{OutcomeSuccess, OutcomeInterrupted, OutcomeFailure, OutcomeUnknown}) {
		t.Errorf("outcomes %v", outcomes)
	}
	if e := got.events[0]; e.AppKey != "entra:app-1" || e.ClientID != "APP-1" || e.OccurredAt.Nanosecond() != 123456700 || e.FailureReason != "" {
		t.Errorf("first event %+v", e)
	}
	if got.events[1].FailureReason != "KMSI" || got.events[3].AppKey != "name:acme" {
		t.Errorf("events %+v", got.events)
	}
	var reasons []string
	for _, r := range got.rejs {
		reasons = append(reasons, r.Reason)
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], "ambiguous") || !strings.Contains(reasons[1], "errorCode") || reasons[2] != "no id" {
		t.Errorf("rejections %q", reasons)
	}
}

func TestEntraGrantSnapshot(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	got := parseFile(t, "entra", "testdata/entra/permission_grants.json", WithSnapshotTime(at.In(time.FixedZone("CEST", 7200))))
	if got.err != nil || got.stats.Emitted == 0 {
		t.Fatalf("%+v %v", got.stats, got.err)
	}
	for _, e := range got.events {
		if !e.OccurredAt.Equal(at) || e.OccurredAt.Location() != time.UTC || e.Kind != KindOAuthGrant {
			t.Fatalf("WithSnapshotTime not applied: %+v", e)
		}
	}
	// Without the option the file's snapshotTime is used; the same grants keep their ids.
	plain := parseFile(t, "entra", "testdata/entra/permission_grants.json")
	if plain.events[0].OccurredAt.Format(time.RFC3339) != "2024-04-01T06:00:00Z" || plain.events[0].SourceEventID != got.events[0].SourceEventID {
		t.Errorf("snapshot time from the file: %+v", plain.events[0])
	}
	// Key order does not matter, and an Okta-style id is not mistaken for a grant.
	in := `{"servicePrincipals":[{"id":"SP1","appId":"A1","appDisplayName":"Zapier","appOwnerOrganizationId":"other"}],
"grants":[{"id":"g1","clientId":"sp1","consentType":"Principal","principalId":"U1","scope":"openid  User.Read"}],
"users":[{"id":"u1","userPrincipalName":"Bob@x.example"}],"snapshotTime":"2024-04-01T00:00:00+02:00"}`
	g := parseString(t, "entra", in)
	if g.err != nil || len(g.events) != 1 {
		t.Fatalf("%+v %v", g.stats, g.err)
	}
	e := g.events[0]
	if e.UserEmail != "bob@x.example" || e.UserID != "U1" || e.AppKey != "entra:a1" || !slices.Equal(e.Scopes, []string{"openid", "User.Read"}) ||
		e.OccurredAt.Format(time.RFC3339) != "2024-03-31T22:00:00Z" || e.SourceEventID != "grant:g1" {
		t.Errorf("grant event %+v", e)
	}
	if g.stats != (Stats{Read: 3, Emitted: 1, Skipped: 2}) {
		t.Errorf("stats %+v", g.stats)
	}
}

func TestEntraPortalCSV(t *testing.T) {
	in := "\uFEFFDate (UTC),Request ID,User,Username,Application,Application ID ,Status,Sign-in error code,Failure reason,Location,Application ID \n" +
		"2024-03-15T10:00:00Z,r1,Alice,Alice@x.example,Slack,abc,Success,0,Other.,\"Seattle, Washington, US\",zzz\n" +
		"\"3/15/2024, 2:00:00 PM\",r2,Bob,bob@x.example,Zoom,def,Interrupted,50140,KMSI,\"Austin, Texas, US\",\n" +
		"2024-03-15T10:00:00Z,r3,Bob,bob@x.example,Zoom,def,,50126,Bad password,,\n" +
		"2024-03-15T10:00:00Z,,Bob,bob@x.example,Zoom,def,Success,0,,,\n"
	got := parseString(t, "entra", in)
	if got.err != nil || got.stats != (Stats{Read: 4, Emitted: 3, Rejected: 1}) {
		t.Fatalf("%+v %v", got.stats, got.err)
	}
	e := got.events[0]
	if e.SourceEventID != "r1" || e.UserEmail != "alice@x.example" || e.AppKey != "entra:abc" || e.ClientID != "abc" || e.FailureReason != "" {
		t.Errorf("first row: %+v (the first of the repeated columns must win)", e)
	}
	if got.events[1].Outcome != OutcomeInterrupted || got.events[1].OccurredAt.Hour() != 14 ||
		got.events[2].Outcome != OutcomeFailure || got.events[2].FailureReason != "Bad password" {
		t.Errorf("rows 2-3: %+v", got.events[1:])
	}
	if got.rejs[0].Line != 5 || !strings.Contains(got.rejs[0].Reason, "Request ID") {
		t.Errorf("rejection %+v", got.rejs[0])
	}
}

func TestGoogleQualifierForms(t *testing.T) {
	act := `{"kind":"admin#reports#activity","id":{"time":"2024-03-05T14:22:31.120Z","uniqueQualifier":%s,"applicationName":"token"},
"actor":{"email":"A@x.example","profileId":"1"},"events":[{"name":"authorize","parameters":[{"name":"client_id","value":"c1"},{"name":"app_name","value":"Zoom"},{"name":"scope","multiValue":["openid"]}]},
{"name":"revoke","parameters":[{"name":"client_id","value":"c1"}]}]}`
	for _, uq := range []string{"-8263562362367789334", `"-8263562362367789334"`, `" -8263562362367789334"`} {
		got := parseString(t, "google", strings.Replace(act, "%s", uq, 1))
		if got.err != nil || len(got.events) != 2 {
			t.Fatalf("%s: %+v %v %+v", uq, got.stats, got.err, got.rejs)
		}
		if id := got.events[0].SourceEventID; id != "2024-03-05T14:22:31.12Z/-8263562362367789334/0/authorize" {
			t.Errorf("%s: id %q", uq, id)
		}
		if id := got.events[1].SourceEventID; id != "2024-03-05T14:22:31.12Z/-8263562362367789334/1/revoke" || got.events[1].Kind != KindOAuthRevoke {
			t.Errorf("%s: second event %+v", uq, got.events[1])
		}
	}
	// The key holds the number in canonical decimal, whatever its spelling.
	a := parseString(t, "google", strings.Replace(act, "%s", `"+0042"`, 1))
	b := parseString(t, "google", strings.Replace(act, "%s", "42", 1))
	if len(a.events) != 2 || len(b.events) != 2 || a.events[0].SourceEventID != b.events[0].SourceEventID ||
		!strings.Contains(b.events[0].SourceEventID, "/42/0/") {
		t.Errorf("canonical qualifier: %+v / %+v", a.events, b.events)
	}
	for _, uq := range []string{"1e3", `"abc"`, "18446744073709551615", "{}"} {
		got := parseString(t, "google", strings.Replace(act, "%s", uq, 1))
		if got.err != nil || got.stats.Rejected != 1 || got.stats.Read != 1 {
			t.Errorf("uniqueQualifier %s: %+v %v", uq, got.stats, got.err)
		}
	}
}

func TestCSVHeaders(t *testing.T) {
	for name, in := range map[string]string{
		"commas":         "Timestamp,E-mail Address,App Name\n2024-03-05 10:00,a@x.example,Slack\n",
		"semicolons":     "date;username;application\n2024-03-05 10:00;a@x.example;Slack\n",
		"tabs":           "When\tUser\tService\n2024-03-05 10:00\ta@x.example\tSlack\n",
		"pipes":          "time|upn|saas_app\n2024-03-05 10:00|a@x.example|Slack\n",
		"quoted, padded": "\" Time \",\" User \",\" App \"\n\"2024-03-05 10:00\",\"a@x.example\",\"Slack\"\n",
	} {
		got := parseString(t, "csv", in)
		if got.err != nil || got.stats.Emitted != 1 || got.events[0].AppKey != "name:slack" {
			t.Errorf("%s: %+v %v", name, got.stats, got.err)
		}
	}
	// A quoted field spanning lines: the next row's line is still right.
	in := "time,user,app,user_agent\n2024-03-05 10:00,a@x.example,Slack,\"two\nlines\"\n2024-03-05 10:00,,Slack,x\n2024-03-05 10:00,b@x.example,\"bad\"quote,x\n"
	got := parseString(t, "csv", in)
	if got.err != nil || len(got.rejs) != 2 || got.rejs[0].Line != 4 || got.rejs[1].Line != 5 {
		t.Errorf("%+v %v %+v", got.stats, got.err, got.rejs)
	}
	// Identical rows share their hash key; a different row does not.
	rows := "time,user,app\n2024-03-05 10:00,a@x.example,Slack\n2024-03-05 10:00,A@X.example,Slack\n2024-03-05 10:01,a@x.example,Slack\n"
	got = parseString(t, "csv", rows)
	if got.events[0].SourceEventID != got.events[1].SourceEventID || got.events[0].SourceEventID == got.events[2].SourceEventID {
		t.Errorf("row hashes %q %q %q", got.events[0].SourceEventID, got.events[1].SourceEventID, got.events[2].SourceEventID)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		head, want, err string
	}{
		{`[{"actor":{},"eventType":"user.session.start","uuid":"x","published":"2024"}]`, "okta", ""},
		{`{"@odata.context":"x","value":[{"id":"1","createdDateTime":"2024","appId":"a"}]}`, "entra", ""},
		{`{"time":"2024","category":"SignInLogs","properties":{"userPrincipalName":"a"}}`, "entra", ""},
		{`{"kind":"admin#reports#activities","items":[{"id":{"uniqueQualifier":"1"}}]}`, "google", ""},
		{"\uFEFFDate (UTC),Request ID,User,Username,Application,Application ID \n", "entra", ""},
		{"Date,ID,User,Application\n", "csv", ""},
		{"timestamp;email;app\n", "csv", ""},
		{"", "", "empty"},
		{"  \n ", "", "empty"},
		{"\x00\x01\x02binary", "", "binary"},
		{`{"hello":"world"}`, "", "none of their field names"},
		{"just some text\nmore\n", "", "header naming time, user and app"},
	}
	for _, tt := range tests {
		got, err := Detect([]byte(tt.head))
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Detect(%q) = %q, %v; want %q, %q", tt.head, got, err, tt.want, tt.err)
		}
	}
	// A gzip head is looked into.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(strings.Repeat(`{"eventType":"user.session.start","uuid":"x","published":"2024"}`+"\n", 200)))
	zw.Close()
	if got, err := Detect(z.Bytes()[:z.Len()/2]); got != "okta" {
		t.Errorf("Detect(gzip head) = %q, %v", got, err)
	}
}

func TestRecordTooLarge(t *testing.T) {
	// A record larger than the limit stops the parse instead of taking all memory.
	big := `[{"uuid":"a","eventType":"x","displayMessage":"` + strings.Repeat("x", maxRecordBytes+1024) + `"}]`
	_, err := parseStringErr("okta", big)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v", err)
	}
	long := "time,user,app\n" + strings.Repeat("y", maxLineBytes+10) + "\n"
	_, err = parseStringErr("csv", long)
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("err = %v", err)
	}
}
