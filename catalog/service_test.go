package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/testutil"
)

var sec = audit.Actor{Name: "security@example.com"}

// newCatalog returns a catalogue whose changes queue real River jobs (not worked here), so
// tests can count what the outbox received.
func newCatalog(t *testing.T, b testutil.Backend) (*catalog.Service, *jobs.Jobs, *db.DB) {
	t.Helper()
	d := b.Open(t)
	ctx := context.Background()
	j, err := jobs.New(ctx, d, nil, jobs.Options{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	if _, err := j.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(d, nil, catalog.JobsOutbox{Jobs: j})
	svc.RegisterJobs(j)
	if err := svc.EnsureCategories(ctx, []catalog.Category{{Slug: "chat", Name: "Chat"}, {Slug: "diagramming", Name: "Diagramming"}}); err != nil {
		t.Fatal(err)
	}
	return svc, j, d
}

func count(t *testing.T, d *db.DB, q string) int {
	t.Helper()
	var n int
	if err := d.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateAndUpdateApps(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, j, d := newCatalog(t, b)
			ctx := context.Background()
			a, err := svc.CreateApp(ctx, sec, catalog.AppInput{Name: "Slack", Vendor: "Salesforce", Website: "https://slack.com", Category: "chat", Tags: "Chat, messaging, chat", Status: "approved", ListCost: "8.75", ListCostCurrency: "eur"})
			if err != nil {
				t.Fatal(err)
			}
			if a.Slug != "slack" || a.TagsText != "chat, messaging" || *a.ListCostMinor != 875 || a.ListCostCurrency != "EUR" {
				t.Errorf("created %+v", a)
			}
			if n, _ := j.Pending(ctx, catalog.IndexSyncKind); n != 1 {
				t.Errorf("index syncs queued = %d, want 1", n)
			}

			bad := []struct {
				in     catalog.AppInput
				code   errs.Code
				fields []string
			}{
				{catalog.AppInput{Name: "Slack", Category: "chat", Status: "approved"}, errs.Conflict, []string{"slug"}},
				{catalog.AppInput{Name: "X", Website: "not a url", Category: "chat", Status: "approved"}, errs.Invalid, []string{"website"}},
				{catalog.AppInput{Name: "X", Category: "video", Status: "approved"}, errs.Invalid, []string{"category"}},
				{catalog.AppInput{Name: "", Category: "", Status: "maybe"}, errs.Invalid, []string{"name", "category", "status"}},
				{catalog.AppInput{Name: "X", Category: "chat", Status: "approved_with_conditions"}, errs.Invalid, []string{"conditions"}},
				{catalog.AppInput{Name: "X", Category: "chat", Status: "not_approved"}, errs.Invalid, []string{"what_would_change"}},
				{catalog.AppInput{Name: "X", Category: "chat", Status: "approved", ListCost: "-3"}, errs.Invalid, []string{"list_cost", "list_cost_currency"}},
				{catalog.AppInput{Name: "X", Slug: "Bad Slug", Category: "chat", Status: "approved"}, errs.Invalid, []string{"slug"}},
			}
			for _, tt := range bad {
				_, err := svc.CreateApp(ctx, sec, tt.in)
				e, ok := errs.As(err)
				if !ok || e.Code != tt.code {
					t.Errorf("%+v: err = %v, want %s", tt.in, err, tt.code)
					continue
				}
				for _, f := range tt.fields {
					if e.Fields[f] == "" {
						t.Errorf("%+v: no error for field %s in %v", tt.in, f, e.Fields)
					}
				}
			}
			if n := count(t, d, "SELECT COUNT(*) FROM apps"); n != 1 {
				t.Errorf("%d apps after refused input, want 1", n)
			}
			if n, _ := j.Pending(ctx, catalog.IndexSyncKind); n != 1 {
				t.Errorf("refused input queued index syncs: %d", n)
			}

			// Rename: the old slug stops working, both slugs are synced.
			in := catalog.InputOf(a)
			in.Slug, in.Name = "slack-enterprise", "Slack Enterprise Grid"
			if _, err := svc.UpdateApp(ctx, sec, "slack", in); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.App(ctx, "slack"); !errs.Is(err, errs.NotFound) {
				t.Errorf("old slug: %v", err)
			}
			got, err := svc.App(ctx, "slack-enterprise")
			if err != nil || got.Name != "Slack Enterprise Grid" || got.ID != a.ID {
				t.Errorf("renamed = %+v, %v", got, err)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM audit_log WHERE object_type = 'app'"); n != 2 {
				t.Errorf("%d audit entries, want create + update", n)
			}
			_, err = svc.CreateApp(ctx, sec, catalog.AppInput{Name: "Miro", Category: "diagramming", Status: "approved"})
			if err != nil {
				t.Fatal(err)
			}
			in.Slug = "miro"
			if _, err := svc.UpdateApp(ctx, sec, "slack-enterprise", in); !errs.Is(err, errs.Conflict) {
				t.Errorf("rename onto another app: %v", err)
			}
		})
	}
}

func TestIdentifiersAlternativesAndRisk(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, _, d := newCatalog(t, b)
			ctx := context.Background()
			mk := func(name, status, extra string) {
				in := catalog.AppInput{Name: name, Category: "diagramming", Status: status, WhatWouldChange: extra, Conditions: extra}
				if _, err := svc.CreateApp(ctx, sec, in); err != nil {
					t.Fatal(err)
				}
			}
			mk("Lucidchart", "approved", "")
			mk("Gliffy", "not_approved", "A signed DPA and SSO.")
			mk("Whimsical", "under_review", "")

			if _, err := svc.AddIdentifier(ctx, sec, "lucidchart", catalog.IDDomain, "https://www.Lucid.app/path"); err != nil {
				t.Fatal(err)
			}
			_, err := svc.AddIdentifier(ctx, sec, "gliffy", catalog.IDDomain, "lucid.app")
			if e, ok := errs.As(err); !ok || e.Code != errs.Conflict || !strings.Contains(e.Fields["value"], "Lucidchart") {
				t.Errorf("identifier of another app: %v", err)
			}
			if _, err := svc.AddIdentifier(ctx, sec, "gliffy", catalog.IDEntraAppID, "not-a-guid"); !errs.Is(err, errs.Invalid) {
				t.Errorf("bad Entra id: %v", err)
			}
			if _, err := svc.AddIdentifier(ctx, sec, "gliffy", catalog.IDEntraAppID, "0F3E4A1B-1111-2222-3333-444455556666"); err != nil {
				t.Errorf("good Entra id: %v", err)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM app_identifiers WHERE value = 'lucid.app'"); n != 1 {
				t.Errorf("normalised domain stored %d times", n)
			}

			if err := svc.SetAlternative(ctx, sec, "gliffy", "lucidchart", "Use Lucidchart for diagrams up to Confidential."); err != nil {
				t.Fatal(err)
			}
			if err := svc.SetAlternative(ctx, sec, "gliffy", "whimsical", ""); !errs.Is(err, errs.Invalid) {
				t.Errorf("unapproved alternative: %v", err)
			}
			if err := svc.SetAlternative(ctx, sec, "gliffy", "gliffy", ""); !errs.Is(err, errs.Invalid) {
				t.Errorf("self alternative: %v", err)
			}
			checked := time.Now().AddDate(-2, 0, 0)
			if err := svc.SaveRiskProfile(ctx, sec, "gliffy", []catalog.RiskAnswer{{Factor: "sso", Answer: catalog.AnswerYes, EvidenceURL: "https://example.com/sso", CheckedOn: &checked}, {Factor: "mfa", Answer: catalog.AnswerNo}}); err != nil {
				t.Fatal(err)
			}
			if err := svc.SaveRiskProfile(ctx, sec, "gliffy", []catalog.RiskAnswer{{Factor: "bogus", Answer: "maybe"}}); !errs.Is(err, errs.Invalid) {
				t.Errorf("bad factor: %v", err)
			}
			if err := svc.OverrideScore(ctx, sec, "gliffy", ptr(9.0), "short"); !errs.Is(err, errs.Invalid) {
				t.Errorf("override without a real reason: %v", err)
			}
			d2, err := svc.Detail(ctx, "gliffy")
			if err != nil {
				t.Fatal(err)
			}
			if len(d2.Alternatives) != 1 || d2.Alternatives[0].Slug != "lucidchart" || d2.Alternatives[0].Note == "" {
				t.Errorf("alternatives = %+v", d2.Alternatives)
			}
			if d2.Score.Answered != 2 || d2.Score.Value <= 0 || d2.Score.Overridden {
				t.Errorf("score = %+v", d2.Score)
			}
			for _, f := range d2.Score.Factors {
				if f.Key == "sso" && (!f.Stale || f.EvidenceURL == "") {
					t.Errorf("sso factor = %+v, want stale evidence", f)
				}
			}
			if d2.App.RiskReviewedBy != sec.Name || d2.App.RiskReviewedAt == nil {
				t.Errorf("review not recorded: %+v", d2.App)
			}
			if err := svc.OverrideScore(ctx, sec, "gliffy", ptr(2.5), "Vendor had a breach last month that the factors miss."); err != nil {
				t.Fatal(err)
			}
			if d3, _ := svc.Detail(ctx, "gliffy"); !d3.Score.Overridden || d3.Score.Value != 2.5 || d3.Score.Computed != d2.Score.Computed {
				t.Errorf("after override: %+v", d3.Score)
			}
			entries, _ := audit.List(ctx, d, audit.Filter{Action: "app.risk.override"})
			if len(entries) != 1 || !strings.Contains(entries[0].Details, "breach") {
				t.Errorf("override audit = %+v", entries)
			}
			// Weights change every score.
			w, _ := svc.RiskWeights(ctx)
			w["sso"] = catalog.WeightIgnored
			if err := svc.SetRiskWeights(ctx, audit.Actor{Name: "admin"}, w); err != nil {
				t.Fatal(err)
			}
			if d4, _ := svc.Detail(ctx, "gliffy"); d4.Score.Computed != 0 {
				t.Errorf("with sso ignored the only yes counts nothing, got %v", d4.Score.Computed)
			}
		})
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, j, d := newCatalog(t, b)
			ctx := context.Background()
			res, err := svc.Seed(ctx, audit.System, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.Created < 200 || res.Decisions < 20 {
				t.Fatalf("seed = %+v", res)
			}
			again, err := svc.Seed(ctx, audit.System, true)
			if err != nil || again.Created != 0 || again.Decisions != 0 || again.Existing != res.Created {
				t.Fatalf("second seed = %+v (%v)", again, err)
			}
			wt, err := svc.Detail(ctx, "wetransfer")
			if err != nil {
				t.Fatal(err)
			}
			if wt.App.Status != catalog.StatusNotApproved || len(wt.Alternatives) == 0 || wt.App.WhatWouldChange == "" {
				t.Errorf("demo WeTransfer = %+v", wt)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM app_identifiers WHERE kind = 'domain'"); n != res.Created {
				t.Errorf("%d domains for %d apps", n, res.Created)
			}
			if n, _ := j.Pending(ctx, catalog.IndexSyncKind); n < res.Created/100 {
				t.Errorf("only %d index syncs queued", n)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
