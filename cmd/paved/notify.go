package main

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
)

// requestNotifier sends the catalogue's request events by e-mail and Slack webhook.
type requestNotifier struct {
	n *notify.Notifier
	j *jobs.Jobs
}

// NotifyTx implements requests.Notifier.
func (rn requestNotifier) NotifyTx(ctx context.Context, tx *sqlx.Tx, ev requests.RequestEvent) error {
	summary := ev.Request.Rationale
	if summary == "" {
		summary = ev.Request.UseCase
	}
	return rn.n.EnqueueTx(ctx, rn.j, tx, notify.Event{Kind: notify.Kind(ev.Kind), RequestID: ev.Request.ID, Title: ev.Request.AppName,
		Summary: summary, Outcome: ev.Outcome, Recipients: ev.Recipients})
}

// findingsNotifier sends security one digest of the findings an evaluation opened. It names
// apps, conditions and counts, never the people: those are on the findings page, for security.
type findingsNotifier struct {
	n *notify.Notifier
	j *jobs.Jobs
}

// NotifyFindingsTx implements discovery.FindingsNotifier.
func (fn findingsNotifier) NotifyFindingsTx(ctx context.Context, tx *sqlx.Tx, list []discovery.Finding) error {
	to, err := auth.EmailsWithRole(ctx, tx, auth.RoleSecurity)
	if err != nil {
		return err
	}
	d := findingsDigest(list)
	d.Recipients = to
	return fn.n.EnqueueDigestTx(ctx, fn.j, tx, d)
}

// findingsDigest writes new findings as one digest for security.
func findingsDigest(list []discovery.Finding) notify.Digest {
	apps := map[string]bool{}
	items := make([]string, len(list))
	for i, f := range list {
		apps[f.AppSlug] = true
		items[i] = fmt.Sprintf("%s — %s: %s", f.AppName, conditionNames[f.Kind], f.Detail)
	}
	subject := fmt.Sprintf("%d new findings: usage outside apps' conditions", len(list))
	if len(list) == 1 {
		subject = "1 new finding: usage outside " + list[0].AppName + "'s conditions"
	}
	lead := fmt.Sprintf("Usage left the conditions of %d apps since the last check:", len(apps))
	if len(apps) == 1 {
		lead = "Usage left the conditions of 1 app since the last check:"
	}
	return notify.Digest{Subject: subject, Lead: lead, Items: items, URL: "/findings",
		Why: "to the security team when the apps' conditions are checked and something new is found."}
}

// conditionNames name the kinds of checked condition in the digest.
var conditionNames = map[string]string{
	catalog.ConditionSeatLimit: "seat limit", catalog.ConditionAllowedGroups: "allowed people",
	catalog.ConditionForbiddenScopes: "forbidden OAuth scopes", catalog.ConditionPilotEnd: "pilot end",
}
