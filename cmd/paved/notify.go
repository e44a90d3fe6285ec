package main

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog/requests"
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
