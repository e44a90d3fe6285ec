package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pavedhq/paved/internal/audit"
)

// demoApps are the apps the quick start's made-up company uses, with how many people use each:
// approved ones, ones that are not approved (the shadow IT), and some nobody catalogued. Each
// is seen through the sources the company routes it through, under that source's identifier,
// so the dashboard shows one app with the people counted once: okta and entra name the app
// instance (made-up ids, except Microsoft Teams, whose Entra application id is Microsoft's own),
// google the OAuth client a person granted.
var demoApps = []struct {
	name, domain string
	users        int
	okta, entra  string // app instance ids; "" when the app is not behind that IdP
	google       string // OAuth client id; "" when nobody granted it access
}{
	{"Slack", "slack.com", 40, "0oademoslack01", "", ""},
	{"Zoom", "zoom.us", 25, "0oademozoom001", "6c4b2f1e-0d5a-4c8e-9a71-3f0e5d2b8c41", "100001-zoom.apps.googleusercontent.com"},
	{"Google Drive", "drive.google.com", 35, "", "", ""},
	{"Microsoft Teams", "teams.microsoft.com", 14, "", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", ""},
	{"Notion", "notion.so", 18, "0oademonotion1", "", "100002-notion.apps.googleusercontent.com"},
	{"Figma", "figma.com", 9, "0oademofigma01", "", ""},
	{"WeTransfer", "wetransfer.com", 12, "", "", ""},
	{"LastPass", "lastpass.com", 5, "", "", ""},
	{"Grammarly", "grammarly.com", 8, "", "2b9e6d41-7c3a-4f05-b8e2-91d4a6c0f537", "100003-grammarly.apps.googleusercontent.com"},
	{"Otter.ai", "otter.ai", 4, "", "", "100004-otter.apps.googleusercontent.com"},
	{"Gliffy", "gliffy.com", 6, "", "", ""},
	{"Whimsical", "whimsical.com", 3, "", "", ""},
	{"TinyPNG", "tinypng.com", 2, "", "", ""},
}

// demoLogs are the made-up logs of each source, in the formats the importers read.
type demoLogs struct{ okta, entra, google, csv string }

// demoUser is the i-th person of the made-up company: the four demo users first.
func demoUser(i int) string {
	demo := []string{"employee@example.com", "committee@example.com", "security@example.com", "admin@example.com"}
	if i < len(demo) {
		return demo[i]
	}
	return fmt.Sprintf("person%02d@example.com", i)
}

// DemoLog writes the proxy log (CSV) of made-up sign-ins over the 30 days before now.
func DemoLog(now time.Time) string { return makeDemoLogs(now).csv }

// makeDemoLogs writes a month of made-up use. Each use goes to one of the sources the app is
// seen through, so most people of an app appear in several sources under several identifiers.
func makeDemoLogs(now time.Time) demoLogs {
	r := rand.New(rand.NewPCG(7, 7))
	var csv strings.Builder
	csv.WriteString("time,user,app,domain,outcome\n")
	var okta, entra, google []any
	n := 0
	for _, a := range demoApps {
		for u := range a.users {
			user := demoUser(u)
			for range 1 + r.IntN(6) {
				n++
				at := now.Add(-time.Duration(r.IntN(30*24*60)) * time.Minute).UTC()
				failed := r.IntN(15) == 0
				outcome := "success"
				if failed {
					outcome = "failure"
				}
				switch pick := r.IntN(4); {
				case pick == 1 && a.okta != "":
					result := "SUCCESS"
					if failed {
						result = "FAILURE"
					}
					okta = append(okta, map[string]any{"uuid": fmt.Sprintf("demo-okta-%05d", n), "published": at.Format("2006-01-02T15:04:05.000Z"),
						"eventType": "user.authentication.sso", "outcome": map[string]any{"result": result},
						"actor":  map[string]any{"id": fmt.Sprintf("00udemo%04d", u), "type": "User", "alternateId": user},
						"target": []any{map[string]any{"id": a.okta, "type": "AppInstance", "displayName": a.name}}})
				case pick == 2 && a.entra != "":
					code := 0
					if failed {
						code = 50126
					}
					entra = append(entra, map[string]any{"id": fmt.Sprintf("demo-entra-%05d", n), "createdDateTime": at.Format("2006-01-02T15:04:05.0000000Z"),
						"userPrincipalName": user, "userId": fmt.Sprintf("demo-user-%04d", u), "appId": a.entra, "appDisplayName": a.name,
						"status": map[string]any{"errorCode": code}})
				case pick == 3 && a.google != "":
					google = append(google, map[string]any{"kind": "admin#reports#activity",
						"id":    map[string]any{"time": at.Format("2006-01-02T15:04:05.000Z"), "uniqueQualifier": fmt.Sprint(n), "applicationName": "token", "customerId": "Cdemo"},
						"actor": map[string]any{"callerType": "USER", "email": user, "profileId": fmt.Sprintf("1%04d", u)},
						"events": []any{map[string]any{"type": "auth", "name": "authorize", "parameters": []any{
							map[string]any{"name": "client_id", "value": a.google}, map[string]any{"name": "app_name", "value": a.name},
							map[string]any{"name": "scope", "multiValue": []string{"openid", "email"}}}}}})
				default:
					fmt.Fprintf(&csv, "%s,%s,%s,%s,%s\n", at.Format(time.RFC3339), user, a.name, a.domain, outcome)
				}
			}
		}
	}
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return demoLogs{okta: js(okta), entra: js(map[string]any{"value": entra}), google: js(map[string]any{"kind": "admin#reports#activities", "items": google}), csv: csv.String()}
}

// ImportDemo imports the demo logs once: a store that already holds events is left alone.
func (s *Store) ImportDemo(ctx context.Context) error {
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM usage_events"); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	logs := makeDemoLogs(s.now())
	for _, l := range []struct{ format, name, body string }{
		{FormatOkta, "demo-okta-system-log.json", logs.okta},
		{FormatEntra, "demo-entra-signins.json", logs.entra},
		{FormatGoogle, "demo-google-token-audit.json", logs.google},
		{FormatCSV, "demo-proxy-log.csv", logs.csv},
	} {
		if _, err := s.Import(ctx, audit.Actor{Name: "paved dev"}, l.format, l.name, strings.NewReader(l.body)); err != nil {
			return fmt.Errorf("demo %s log: %w", l.format, err)
		}
	}
	return nil
}
