package discovery

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeAppName(t *testing.T) {
	tests := []struct{ in, want string }{
		// One SaaS under the names different logs give it.
		{"Slack", "slack"},
		{"Slack Technologies", "slack"},
		{"slack.com", "slack"},
		{"Slack (SSO)", "slack"},
		{"SLACK  Technologies,  Inc.", "slack"},
		{"https://northwind.slack.com/", "slack"},
		{"Salesforce.com", "salesforce"},
		{"Salesforce", "salesforce"},
		{"Salesforce.com, Inc.", "salesforce"},
		{"salesforce (Production)", "salesforce"},
		{"Salesforce - Sandbox", "salesforce"},
		{"www.salesforce.com", "salesforce"},
		{"northwind.my.salesforce.com", "salesforce"},
		// Company forms and deployment words, stripped from the end only.
		{"Zoom Video Communications, Inc.", "zoom video"},
		{"Notion Labs, Inc.", "notion"},
		{"Canva Pty Ltd", "canva"},
		{"DeepL SE", "deepl"},
		{"SAP SE", "sap"},
		{"Miro SSO", "miro"},
		{"Figma SAML", "figma"},
		{"Atlassian Cloud", "atlassian cloud"},
		{"Acme App", "acme"},
		{"Grammarly Inc.", "grammarly"},
		{"Calendly LLC", "calendly"},
		{"Personio GmbH", "personio"},
		{"Trello [Atlassian]", "trello"},
		{"App Store Connect", "app store connect"}, // noise words only count at the end
		{"Vendor X Beta (Production)", "vendor x beta"},
		// Domains reduce to their registrable label, country suffixes included.
		{"monday.com", "monday"},
		{"Otter.ai", "otter"},
		{"notion.so", "notion"},
		{"app.asana.com", "asana"},
		{"example.co.uk", "example"},
		{"shop.example.com.au", "example"},
		{"lucid.app", "lucid"},
		// Spaces and punctuation collapse; letters beyond ASCII survive.
		{"  Microsoft   365  ", "microsoft 365"},
		{"Google_Workspace", "google workspace"},
		{"AT&T Business", "at&t business"},
		{"Société Générale", "société générale"},
		{"U.S. Bank", "u s bank"},
		{"Node.js", "node"},
		// Never stripped to nothing.
		{"App", "app"},
		{"SSO", "sso"},
		{"Inc.", "inc"},
		{"", ""},
		{"   ", ""},
		{"()", ""},
	}
	for _, tt := range tests {
		if got := NormalizeAppName(tt.in); got != tt.want {
			t.Errorf("NormalizeAppName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://northwind.my.salesforce.com", "northwind.my.salesforce.com"},
		{"https://www.figma.com/saml/123", "figma.com"},
		{"http://www.workday.com", "workday.com"},
		{"https://wetransfer.com:443/", "wetransfer.com"},
		{"notion.so", "notion.so"},
		{"www.surveymonkey.com", "surveymonkey.com"},
		{"App.Slack.COM.", "app.slack.com"},
		{"google.com/a/northwind.example", "google.com"},
		{"user@box.com", "box.com"},
		{"urn:amazon:webservices", ""},
		{"northwind", ""},
		{"https://", ""},
		{"", ""},
		{"not a host.com", ""},
		{"a..b.com", ""},
	}
	for _, tt := range tests {
		if got := normalizeHost(tt.in); got != tt.want {
			t.Errorf("normalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Alice.Nguyen@Northwind.example", "alice.nguyen@northwind.example"},
		{" bob@x.example ", "bob@x.example"},
		{"nokafor", ""},
		{"@x.example", ""},
		{"a@", ""},
		{"a b@x.example", ""},
	}
	for _, tt := range tests {
		if got := normalizeEmail(tt.in); got != tt.want {
			t.Errorf("normalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppKeyOrder(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want string
	}{
		{"Slack", []string{KeyDomain, "northwind.slack.com", KeyOkta, "0oa1"}, "domain:northwind.slack.com"},
		{"Slack", []string{KeyDomain, "", KeyOkta, "0oa1"}, "okta:0oa1"},
		{"Slack (SSO)", []string{KeyDomain, " ", KeyOkta, ""}, "name:slack"},
		{"", []string{KeyGoogle, ""}, ""},
	}
	for _, tt := range tests {
		if got := appKey(tt.name, tt.ids...); got != tt.want {
			t.Errorf("appKey(%q, %q) = %q, want %q", tt.name, tt.ids, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := UsageEvent{OccurredAt: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), Source: SourceOkta, SourceEventID: "u1",
		AppKey: "name:slack", Kind: KindSSOLogin, Outcome: OutcomeSuccess, UserEmail: "a@b.example"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	bad := []func(*UsageEvent){
		func(e *UsageEvent) { e.OccurredAt = time.Time{} },
		func(e *UsageEvent) { e.OccurredAt = e.OccurredAt.In(time.FixedZone("x", 3600)) },
		func(e *UsageEvent) { e.Source = "okta2" },
		func(e *UsageEvent) { e.SourceEventID = "" },
		func(e *UsageEvent) { e.AppKey = "slack" },
		func(e *UsageEvent) { e.AppKey = "name:" },
		func(e *UsageEvent) { e.Kind = "login" },
		func(e *UsageEvent) { e.Outcome = "" },
		func(e *UsageEvent) { e.UserEmail = "A@b.example" },
	}
	for i, mutate := range bad {
		e := good
		mutate(&e)
		if err := e.Validate(); err == nil {
			t.Errorf("mutation %d: Validate accepted %+v", i, e)
		}
	}
	if (UsageEvent{UserID: "00u1"}).UserKey() != "id:00u1" || good.UserKey() != "a@b.example" || (UsageEvent{}).UserKey() != "" {
		t.Error("UserKey")
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	got := excerpt([]byte(long))
	if len(got) > 200 || !strings.HasPrefix(long, got) {
		t.Errorf("excerpt cut badly: %d bytes", len(got))
	}
	if got := excerpt([]byte{'a', 0xff, 'b'}); got != "a?b" {
		t.Errorf("excerpt of invalid UTF-8 = %q", got)
	}
}
