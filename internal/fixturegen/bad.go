package fixturegen

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// bad writes inputs no parser can read, with the error each must give (bad/expect.json).
func (g *gen) bad() []genFile {
	var files []genFile
	var exps []BadExpect
	add := func(name string, data []byte, why string, cases ...BadExpect) {
		files = append(files, genFile{"bad/" + name, data})
		for _, c := range cases {
			c.File = "bad/" + name
			c.Why = why
			exps = append(exps, c)
		}
	}
	lines := func(b []byte) int { return 1 + bytes.Count(b, []byte{'\n'}) }

	// A saved Okta page cut off in the middle of an event (a download that died).
	w := g.newOktaWorld(0)
	var page bytes.Buffer
	page.WriteString("[\n")
	for i := 0; i < 6; i++ {
		if i > 0 {
			page.WriteString(",\n")
		}
		page.WriteString("  ")
		page.Write(mustIndent(w.next(false).ev, "  "))
	}
	page.WriteString("\n]\n")
	full := page.Bytes()
	cut := full[:len(full)*2/3]
	cutStart := 1 + bytes.Count(full[:bytes.LastIndex(cut, []byte("\n  {"))+1], []byte{'\n'})
	add("okta_truncated.json", cut, "JSON array cut off inside a record",
		BadExpect{Format: "okta", Line: lines(cut), Contains: []string{"truncated JSON", fmt.Sprintf("starts at line %d", cutStart)}})

	// The same page fed to the wrong parsers.
	add("okta_page.json", full, "an Okta page given to the Entra and Google parsers",
		BadExpect{Format: "entra", Line: 2, Contains: []string{"not an Entra ID sign-in log", `format "okta"`}},
		BadExpect{Format: "google", Line: 2, Contains: []string{"not a Google Workspace activity report", `format "okta"`}},
		BadExpect{Format: "csv", Line: 1, Contains: []string{"JSON, not CSV", `format "okta"`}})

	// A CSV without a user column.
	var b strings.Builder
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"timestamp", "app_name", "url"})
	for i := 0; i < 5; i++ {
		_ = cw.Write([]string{g.base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), "Slack", "https://app.slack.com"})
	}
	cw.Flush()
	add("csv_missing_user_column.csv", []byte(b.String()), "a CSV whose header names no user column",
		BadExpect{Format: "csv", Line: 1, Contains: []string{"no user", "column"}})

	// An Entra portal CSV without its Request ID column, fed to the Entra parser.
	b.Reset()
	cw = csv.NewWriter(&b)
	_ = cw.Write([]string{"Date (UTC)", "User", "Username", "Application", "Application ID ", "Status"})
	_ = cw.Write([]string{"2024-03-15T10:00:00Z", "Alice", "alice@" + orgDomain, "Slack", g.guid(), "Success"})
	cw.Flush()
	add("entra_csv_missing_request_id.csv", []byte(b.String()), "an Entra portal CSV without the Request ID column",
		BadExpect{Format: "entra", Line: 1, Contains: []string{`"Request ID"`}})

	// Binary data: random bytes, as when someone uploads the wrong file.
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(g.rng.IntN(256))
	}
	bin[0], bin[1] = 0x7f, 'E' // not the gzip magic
	add("binary.bin", bin, "random bytes",
		BadExpect{Format: "okta", Line: 1, Contains: []string{"binary"}},
		BadExpect{Format: "entra", Line: 1, Contains: []string{"binary"}},
		BadExpect{Format: "google", Line: 1, Contains: []string{"binary"}},
		BadExpect{Format: "csv", Line: 1, Contains: []string{"binary"}})

	// An empty file and a blank one.
	for _, f := range []string{"okta", "entra", "google", "csv"} {
		exps = append(exps, BadExpect{File: "bad/empty.json", Format: f, Line: 1, Contains: []string{"empty (0 bytes)"}, Why: "a 0-byte file"})
	}
	files = append(files, genFile{"bad/empty.json", []byte{}})
	add("blank.ndjson", []byte("\n  \n\n"), "only blank lines",
		BadExpect{Format: "google", Line: 4, Contains: []string{"only blank lines"}})

	// NDJSON with a broken line in the middle.
	gw := g.newGoogleWorld(0)
	var nd bytes.Buffer
	for i := 0; i < 12; i++ {
		if i == 6 {
			nd.WriteString(`{"kind":"admin#reports#activity","id":{"time":"2024-03-05T10:00:00.000Z","uniqueQualifier":"12"} "actor":{}}` + "\n")
			continue
		}
		nd.Write(mustJSON(gw.activity("saml").act))
		nd.WriteByte('\n')
	}
	add("google_syntax_error.ndjson", nd.Bytes(), "NDJSON whose 7th line is not valid JSON",
		BadExpect{Format: "google", Line: 7, Contains: []string{"invalid JSON"}})

	// A Graph page cut off, then compressed: gzip is undone first, the truncation still found.
	ew := g.newEntraWorld(0)
	var gp bytes.Buffer
	gp.WriteString("{\n  \"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\n  \"value\": [\n")
	for i := 0; i < 5; i++ {
		if i > 0 {
			gp.WriteString(",\n")
		}
		gp.WriteString("    ")
		gp.Write(mustIndent(ew.signIn().si, "    "))
	}
	graphCut := gp.Bytes()[:gp.Len()-300]
	add("entra_graph_truncated.json.gz", gz(graphCut), "a Graph page cut off, gzip-compressed",
		BadExpect{Format: "entra", Line: lines(graphCut), Contains: []string{"truncated JSON"}})

	// A gzip stream that breaks off (the compressed bytes themselves are cut).
	var one bytes.Buffer
	one.WriteString("[")
	w = g.newOktaWorld(0)
	for i := 0; i < 40; i++ {
		if i > 0 {
			one.WriteString(",")
		}
		one.Write(mustJSON(w.next(false).ev))
	}
	one.WriteString("]")
	z := gz(one.Bytes())
	add("okta_corrupt.json.gz", z[:len(z)/2], "a gzip file cut in half",
		BadExpect{Format: "okta", Line: 1, Contains: []string{"gzip"}})

	// A CSV given to a JSON parser.
	add("proxy_for_okta.csv", []byte("timestamp,user_email,app_name\n2024-03-05T10:00:00Z,alice@"+orgDomain+",Slack\n"),
		"a CSV usage log given to the Okta parser",
		BadExpect{Format: "okta", Line: 1, Contains: []string{"not an Okta System Log", `format "csv"`}})

	// Entra sign-in lines given to the Google parser.
	var el bytes.Buffer
	for i := 0; i < 3; i++ {
		el.Write(mustJSON(ew.signIn().si))
		el.WriteByte('\n')
	}
	add("entra_for_google.ndjson", el.Bytes(), "Entra sign-ins given to the Google parser",
		BadExpect{Format: "google", Line: 1, Contains: []string{"not a Google Workspace activity report", `format "entra"`}})

	// A grant snapshot with no time and no WithSnapshotTime.
	add("entra_grants_without_time.json", []byte(`{
  "servicePrincipals": [{"id": "sp1", "appId": "`+g.guid()+`", "appDisplayName": "Zapier", "appOwnerOrganizationId": "`+g.guid()+`"}],
  "grants": [{"id": "g1", "clientId": "sp1", "consentType": "AllPrincipals", "resourceId": "x", "scope": "User.Read"}]
}
`), "a permission-grant snapshot without snapshotTime",
		BadExpect{Format: "entra", Line: 1, Contains: []string{"snapshotTime"}})

	// Garbage after a valid array.
	add("okta_trailing_garbage.json", []byte("[]\n\n] oops\n"), "a stray bracket after the data",
		BadExpect{Format: "okta", Line: 3, Contains: []string{"invalid character ']'"}})

	exp, _ := json.MarshalIndent(exps, "", "  ")
	files = append(files, genFile{"bad/expect.json", append(exp, '\n')})
	return files
}

// fuzzSeeds writes the seed corpora of the fuzz targets: small slices of every documented shape
// and a few hand-made edge cases, in the `go test fuzz v1` file format.
func (g *gen) fuzzSeeds() []genFile {
	var files []genFile
	seed := func(target, name string, data []byte) {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		files = append(files, genFile{"fuzz/" + target + "/" + name, []byte(body)})
	}

	ow := g.newOktaWorld(0)
	var arr, lines bytes.Buffer
	arr.WriteString("[\n")
	for i := 0; i < 4; i++ {
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.Write(mustJSON(ow.sso().ev))
		lines.Write(mustJSON(ow.consent("app.oauth2.as.consent.grant", "User granted consent", "oauth_grant").ev))
		lines.WriteByte('\n')
	}
	arr.WriteString("\n]")
	seed("FuzzOkta", "array", arr.Bytes())
	seed("FuzzOkta", "ndjson", lines.Bytes())
	seed("FuzzOkta", "session_start_null_target", mustJSON(ow.skipped("user.session.start", "User login to Okta").ev))
	seed("FuzzOkta", "wrong_types", []byte(`[{"uuid":1,"published":true,"eventType":["x"],"actor":"a","target":{"type":"AppInstance"}}]`))
	seed("FuzzOkta", "empty_array", []byte("[]"))
	seed("FuzzOkta", "truncated", arr.Bytes()[:arr.Len()/2])

	ew := g.newEntraWorld(0)
	var page bytes.Buffer
	page.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[`)
	page.Write(mustJSON(ew.signIn().si))
	page.WriteString(",")
	page.Write(mustJSON(ew.signIn().si))
	page.WriteString(`],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}`)
	seed("FuzzEntra", "graph_page", page.Bytes())
	r := ew.signIn()
	seed("FuzzEntra", "diagnostic_line", mustJSON(g.diag(r, "SignInLogs", r.si)))
	seed("FuzzEntra", "records", []byte(`{"records":[`+string(mustJSON(g.diag(r, "NonInteractiveUserSignInLogs", r.si)))+`]}`))
	seed("FuzzEntra", "us_dates", []byte(`[{"id":"a","createdDateTime":"03/15/2024 10:00:00","userPrincipalName":"a@b.example","appId":"x"},`+
		`{"id":"b","createdDateTime":"03/05/2024 10:00:00","userPrincipalName":"a@b.example","appId":"x"}]`))
	seed("FuzzEntra", "grants", []byte(`{"snapshotTime":"2024-04-01T00:00:00Z","grants":[{"id":"g","clientId":"s","consentType":"Principal","principalId":"u","scope":" openid User.Read "}],`+
		`"servicePrincipals":[{"id":"s","appId":"a1","appDisplayName":"Zapier","appOwnerOrganizationId":"o"}],"users":[{"id":"u","userPrincipalName":"U@x.example"}]}`))
	seed("FuzzEntra", "portal_csv", []byte("\uFEFFDate (UTC),Request ID,User,Username,Application,Application ID ,Status,Sign-in error code,Failure reason,Application ID \n"+
		"2024-03-15T10:00:00Z,r1,Alice,alice@x.example,Slack,abc,Success,0,,\n3/5/2024, 2:00:00 PM,r2,Bob,bob@x.example,Zoom,def,Interrupted,50140,KMSI,\n"))

	gw := g.newGoogleWorld(0)
	var gp bytes.Buffer
	gp.WriteString(`{"kind":"admin#reports#activities","items":[`)
	gp.Write(mustJSON(gw.activity("token").act))
	gp.WriteString(",")
	gp.Write(mustJSON(gw.activity("saml").act))
	gp.WriteString(`],"nextPageToken":"abc"}`)
	seed("FuzzGoogle", "page", gp.Bytes())
	var gl bytes.Buffer
	for _, app := range []string{"token", "saml", "login"} {
		gl.Write(mustJSON(gw.activity(app).act))
		gl.WriteByte('\n')
	}
	seed("FuzzGoogle", "ndjson", gl.Bytes())
	seed("FuzzGoogle", "qualifier_forms", []byte(`[{"id":{"time":"2024-03-05T10:00:00.000Z","uniqueQualifier":-9223372036854775808,"applicationName":"token"},"actor":{"email":"a@b.example"},"events":[{"name":"authorize","parameters":[{"name":"client_id","value":"c"}]}]},`+
		`{"id":{"time":"2024-03-05T10:00:00.000Z","uniqueQualifier":"-9223372036854775808","applicationName":"token"},"actor":{"email":"a@b.example"},"events":[{"name":"revoke","parameters":[{"name":"app_name","value":"X"}]}]},`+
		`{"id":{"time":"2024-03-05T10:00:00.000Z","uniqueQualifier":1e3,"applicationName":"saml"},"events":[]}]`))
	seed("FuzzGoogle", "empty_page", []byte(`{"kind":"admin#reports#activities","etag":"\"x\""}`))

	seed("FuzzCSV", "proxy", []byte("timestamp,user_email,app_name,url,action\n2024-03-05T10:00:00Z,a@b.example,Slack,https://app.slack.com,allowed\n"+
		"2024-03-05T10:01:00Z,,Zoom,,blocked\n1709632860,b@b.example,\"Box, Inc.\",box.com,allowed\n"))
	seed("FuzzCSV", "semicolons", []byte("Date;Username;Application;Domain;Event Type;Result;Scopes;Event ID\n15/03/2024 10:00;jdoe;Grammarly Inc.;;oauth_grant;Success;a,b;e1\n05/03/2024 10:00;jdoe\n"))
	seed("FuzzCSV", "quotes", []byte("time,user,app\n2024-03-05T10:00:00Z,\"a\"b,c\n\"2024-03-05T10:00:00Z,x,y\n"))
	seed("FuzzCSV", "header_only", []byte("time\tuser\tapp\n"))
	return files
}
