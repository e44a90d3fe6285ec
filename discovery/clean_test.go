package discovery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

// oktaSSO is one Okta app sign-in; name, user and id are put in as JSON string contents.
func oktaSSO(uuid, user, appID, appName string) string {
	return fmt.Sprintf(`{"uuid":"%s","published":"2026-03-06T07:06:36.254Z","eventType":"user.authentication.sso","actor":{"id":"00u1","type":"User","alternateId":"%s"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"81.2.92.108","userAgent":{"rawUserAgent":"Mozilla/5.0"}},"target":[{"id":"%s","type":"AppInstance","displayName":"%s"}]}`,
		uuid, user, appID, appName)
}

// An event whose app name or user holds a NUL (or other control characters) is stored without
// them and counted, and the events after it are imported too, on both databases alike.
func TestNULInAnEventDoesNotStallTheImport(t *testing.T) {
	var lines []string
	lines = append(lines, oktaSSO("e-1", "ann@example.com", "0oaAAA", "Lucidchart"))
	lines = append(lines, oktaSSO("e-2", `bob\u0000@example.com`, "0oaBBB", `Sales\u0000force\u202e\u001b[31m`))
	lines = append(lines, oktaSSO(`e-3\u0000`, "cat@example.com", "0oaCCC", "Miro"))
	for i := range 50 {
		lines = append(lines, oktaSSO(fmt.Sprintf("after-%d", i), "dan@example.com", "0oaDDD", "Notion"))
	}
	log := strings.Join(lines, "\n") + "\n"
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			st := discovery.NewStore(d)
			run, err := st.Import(context.Background(), audit.System, "okta", "nul\x00.ndjson", strings.NewReader(log))
			if err != nil {
				t.Fatalf("import failed: %v (%+v)", err, run)
			}
			if run.Status != discovery.RunFinished || run.New != 53 || run.Rejected != 0 || run.Cleaned != 2 {
				t.Errorf("run = %+v, want 53 new events of which 2 cleaned", run)
			}
			if run.FileName != "nul.ndjson" {
				t.Errorf("file name %q", run.FileName)
			}
			var names []string
			if err := d.Select(&names, "SELECT app_name FROM usage_events WHERE source_event_id = 'e-2'"); err != nil || len(names) != 1 || names[0] != "Salesforce[31m" {
				t.Errorf("cleaned name = %q (%v)", names, err)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM usage_events WHERE user_key = 'bob@example.com'"); n != 1 {
				t.Errorf("cleaned user: %d events", n)
			}
			// Importing again finds the same events: cleaning is stable.
			again, err := st.Import(context.Background(), audit.System, "okta", "nul.ndjson", strings.NewReader(log))
			if err != nil || again.New != 0 || again.Duplicate != 53 {
				t.Errorf("re-import: %+v, %v", again, err)
			}
		})
	}
}
