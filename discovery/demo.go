package discovery

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pavedhq/paved/internal/audit"
)

// demoApps are the apps the quick start's made-up company uses, with how many people use each:
// approved ones, ones that are not approved (the shadow IT), and some nobody catalogued.
var demoApps = []struct {
	name, domain string
	users        int
}{
	{"Slack", "slack.com", 40}, {"Zoom", "zoom.us", 25}, {"Google Drive", "drive.google.com", 35},
	{"Notion", "notion.so", 18}, {"Figma", "figma.com", 9},
	{"WeTransfer", "wetransfer.com", 12}, {"LastPass", "lastpass.com", 5}, {"Grammarly", "grammarly.com", 8},
	{"Otter.ai", "otter.ai", 4}, {"Gliffy", "gliffy.com", 6}, {"Whimsical", "whimsical.com", 3},
	{"TinyPNG", "tinypng.com", 2},
}

// DemoLog writes a CSV log of made-up sign-ins over the 30 days before now, for the quick
// start: the four demo users among them, so each sees "apps you use" on their home page.
func DemoLog(now time.Time) string {
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	b.WriteString("time,user,app,domain,outcome\n")
	demo := []string{"employee@example.com", "committee@example.com", "security@example.com", "admin@example.com"}
	for _, a := range demoApps {
		for u := range a.users {
			user := fmt.Sprintf("person%02d@example.com", u)
			if u < len(demo) {
				user = demo[u]
			}
			for range 1 + r.IntN(6) {
				at := now.Add(-time.Duration(r.IntN(30*24*60)) * time.Minute).UTC()
				outcome := "success"
				if r.IntN(15) == 0 {
					outcome = "failure"
				}
				fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", at.Format(time.RFC3339), user, a.name, a.domain, outcome)
			}
		}
	}
	return b.String()
}

// ImportDemo imports DemoLog once: a store that already holds events is left alone.
func (s *Store) ImportDemo(ctx context.Context) error {
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM usage_events"); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := s.Import(ctx, audit.Actor{Name: "paved dev"}, FormatCSV, "demo-proxy-log.csv", strings.NewReader(DemoLog(s.now())))
	return err
}
