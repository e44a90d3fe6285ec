package discovery

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// oktaRecords returns every record of the Okta fixtures.
func oktaRecords(t testing.TB) [][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/okta/*")
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, p := range paths {
		if strings.HasSuffix(p, ".expect.json") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in, err := prepare(FormatOkta, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := newJSONStream(in).eachRaw(func(r rawRecord) error {
			recs = append(recs, r.raw)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return recs
}

// checkFastDecode fails when the fast decoder accepts a record and maps it differently from
// encoding/json.
func checkFastDecode(t *testing.T, raw []byte) (fast bool) {
	t.Helper()
	if !json.Valid(raw) {
		return false
	}
	var ev oktaEvent
	if !decodeOktaFast(raw, &ev) {
		return false
	}
	got, want := resultOf(&ev, nil), decodeOktaStd(raw)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast and encoding/json disagree on %s:\nfast %+v\n std %+v", raw, got, want)
	}
	return true
}

// TestOktaFastDecodeMatchesEncodingJSON runs every fixture record, and variants that must be
// left to encoding/json, through both decoders; the fast one must take nearly all of Okta's own
// records (else it saves nothing) and none of the variants.
func TestOktaFastDecodeMatchesEncodingJSON(t *testing.T) {
	recs := oktaRecords(t)
	fast := 0
	for _, r := range recs {
		if checkFastDecode(t, r) {
			fast++
		}
	}
	if len(recs) < 300 || fast*10 < len(recs)*9 {
		t.Errorf("the fast decoder took %d of %d fixture records", fast, len(recs))
	}
	// Shapes the fast decoder takes, which must map as encoding/json maps them.
	for _, v := range []string{
		`{"uuid":"é-1","eventType":"user.authentication.sso","published":"2024-01-01T00:00:00Z","actor":{"alternateId":"Zoë@x.example"},"target":[{"type":"AppInstance","displayName":"Zoom – Video"}],"outcome":{"result":"SUCCESS"}}`,
		`{"extra":"a\"b}{[","n":[1,{"x":"]"},-2.5e3,true,null],"uuid":"u","eventType":"app.oauth2.as.consent.grant","published":"2024-01-01T00:00:00.123Z","actor":{"id":"00u1"},"target":[{"type":"ConsentGrant","displayName":"okta.users.read"},{"type":"x","detailEntry":{"publicclientapp":"0oa1"}}]}`,
		` { "uuid" : "u" , "eventType" : "user.authentication.sso" , "actor" : null , "client" : { "userAgent" : { } } , "target" : [ ] , "debugContext" : { "debugData" : { "audience" : "https://app.example/saml" } } } `,
		`{}`,
	} {
		if !checkFastDecode(t, []byte(v)) {
			t.Errorf("the fast decoder refused %s", v)
		}
	}
	for _, v := range []string{
		`{"uuid":"a\u0062","eventType":"user.authentication.sso","published":"2024-01-01T00:00:00Z","actor":{"alternateId":"a@x.example"},"target":[{"type":"AppInstance","displayName":"Zoom"}]}`,
		`{"UUID":"a","uuid":"b","eventType":"user.authentication.sso"}`,
		`{"uuid":"a","uuid":"b","eventType":"user.authentication.sso"}`,
		`{"uuid":7,"eventType":"user.authentication.sso"}`,
		`{"uuid":"a","actor":"bob"}`,
		`{"uuid":"a","target":[null]}`,
		`{"uuid":"a","target":{"type":"AppInstance"}}`,
		`{"uuid":"a","debugContext":{"debugData":{"audience":42}}}`,
		"{\"uuid\":\"a\xff\"}",
		`{"uuıd":"a"}`,
	} {
		if checkFastDecode(t, []byte(v)) {
			t.Errorf("the fast decoder took %s", v)
		}
	}
}

// FuzzOktaFastDecode checks that whatever valid JSON the fast decoder accepts, it maps exactly
// as encoding/json does.
//
//	go test ./discovery -run '^$' -fuzz FuzzOktaFastDecode -fuzztime 60s
func FuzzOktaFastDecode(f *testing.F) {
	for _, r := range oktaRecords(f) {
		f.Add(r)
	}
	f.Add([]byte(`{"uuid":"a","actor":{},"client":{"userAgent":null},"target":[],"outcome":{"result":"SUCCESS","reason":null}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkFastDecode(t, raw)
	})
}
