package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
	"github.com/pavedhq/paved/internal/testutil"
)

// queued is a notification job waiting to be sent, with its arguments.
type queued struct {
	Kind string `db:"kind"`
	Args string `db:"args"`
}

func queuedNotifications(t *testing.T, d *db.DB) []queued {
	t.Helper()
	args := "CAST(args AS TEXT)"
	if d.Dialect == db.SQLite {
		args = "json(args)" // River keeps args as a JSONB blob on SQLite
	}
	var out []queued
	if err := d.Select(&out, "SELECT kind, "+args+" AS args FROM river_job WHERE kind IN ('notify.email', 'notify.slack') ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFindingsDigest: an evaluation that opens findings on two apps queues one digest — one
// e-mail to each person in security (administrators too, not employees) and one Slack post —
// listing every new finding by app, condition and count, without naming the people. Running
// the evaluation again finds nothing new and sends nothing; a finding opened later comes in a
// digest of its own.
func TestFindingsDigest(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			j, err := jobs.New(ctx, d, nil, jobs.Options{TestOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(j.Close)
			if _, err := j.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// The jobs are never started: what was queued is what would be sent.
			n := notify.New(notify.Config{SMTP: notify.SMTPConfig{Host: "127.0.0.1", From: "Paved <paved@example.com>"},
				SlackWebhookURL: "http://127.0.0.1:9/hook", BaseURL: "https://paved.example.com"})
			n.Register(j)
			st := discovery.NewStore(d)
			st.Now = func() time.Time { return now }
			st.SetFindingsNotifier(findingsNotifier{n: n, j: j})

			users := auth.NewService(d, auth.Options{})
			for email, role := range map[string]auth.Role{"sam@example.com": auth.RoleSecurity, "ada@example.com": auth.RoleAdmin, "emma@example.com": auth.RoleEmployee, "carl@example.com": auth.RoleCommittee} {
				if _, err := users.EnsureUser(ctx, auth.Identity{Issuer: "https://idp.test", Subject: email, Email: email}, auth.RoleSet{role}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Exec(d.Rebind("INSERT INTO categories (slug, name) VALUES ('video', 'Video') ON CONFLICT (slug) DO NOTHING")); err != nil {
				t.Fatal(err)
			}
			app := func(slug, name, domain string, seats int) {
				t.Helper()
				var id int64
				if err := d.Get(&id, d.Rebind("INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES (?, ?, 'video', 'approved_with_conditions', ?, ?) RETURNING id"), slug, name, db.Time(now), db.Time(now)); err != nil {
					t.Fatal(err)
				}
				if _, err := d.Exec(d.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, 'domain', ?)"), id, domain); err != nil {
					t.Fatal(err)
				}
				if _, err := d.Exec(d.Rebind("INSERT INTO app_conditions (app_id, seat_limit, updated_at) VALUES (?, ?, ?)"), id, seats, db.Time(now)); err != nil {
					t.Fatal(err)
				}
			}
			use := func(name, domain string, people ...string) {
				t.Helper()
				log := "time,user,app,domain\n"
				for _, p := range people {
					log += now.AddDate(0, 0, -1).Format(time.RFC3339) + "," + p + "," + name + "," + domain + "\n"
				}
				if _, err := st.Import(ctx, audit.System, "csv", name+strings.Join(people, ","), strings.NewReader(log)); err != nil {
					t.Fatal(err)
				}
			}
			app("zoom", "Zoom", "zoom.us", 2)
			app("miro", "Miro", "miro.com", 1)
			use("Zoom", "zoom.us", "p1@example.com", "p2@example.com", "p3@example.com")
			use("Miro", "miro.com", "p1@example.com", "p4@example.com")

			if err := st.EvaluateAndAnnounce(ctx); err != nil {
				t.Fatal(err)
			}
			q := queuedNotifications(t, d)
			var to []string
			var posts []string
			for _, m := range q {
				var args struct{ To, Subject, Text string }
				if err := json.Unmarshal([]byte(m.Args), &args); err != nil {
					t.Fatal(err)
				}
				if m.Kind == notify.SlackKind {
					posts = append(posts, args.Text)
					continue
				}
				to = append(to, args.To)
				if args.Subject != "2 new findings: usage outside apps' conditions" {
					t.Errorf("subject %q", args.Subject)
				}
				for _, want := range []string{"Usage left the conditions of 2 apps since the last check:",
					"- Miro — seat limit: 2 people used it in the last 30 days; the limit is 1.",
					"- Zoom — seat limit: 3 people used it in the last 30 days; the limit is 2.",
					"See https://paved.example.com/findings"} {
					if !strings.Contains(args.Text, want) {
						t.Errorf("the digest to %s lacks %q:\n%s", args.To, want, args.Text)
					}
				}
				if strings.Contains(args.Text, "p1@example.com") {
					t.Errorf("the digest names people:\n%s", args.Text)
				}
			}
			if strings.Join(to, " ") != "ada@example.com sam@example.com" {
				t.Errorf("digest e-mailed to %v, want security and the administrator once each", to)
			}
			if len(posts) != 1 || !strings.Contains(posts[0], "• Zoom — seat limit") || !strings.Contains(posts[0], "• Miro — seat limit") {
				t.Errorf("Slack posts %q, want one listing both findings", posts)
			}

			// Nothing new: nothing sent.
			if err := st.EvaluateAndAnnounce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(queuedNotifications(t, d)); got != len(q) {
				t.Errorf("a re-run with nothing new queued %d more notifications", got-len(q))
			}

			// A new finding later goes out alone.
			app("loom", "Loom", "loom.com", 0)
			use("Loom", "loom.com", "p5@example.com")
			if err := st.EvaluateAndAnnounce(ctx); err != nil {
				t.Fatal(err)
			}
			later := queuedNotifications(t, d)[len(q):]
			if len(later) != 3 {
				t.Fatalf("the next digest queued %d notifications, want 2 e-mails and 1 post", len(later))
			}
			for _, m := range later {
				if !strings.Contains(m.Args, "Loom") || strings.Contains(m.Args, "Zoom") {
					t.Errorf("the next digest: %s", m.Args)
				}
			}
		})
	}
}
