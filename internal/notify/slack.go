package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// SlackArgs is one post to the webhook. The webhook URL is not in the job: it holds the
// webhook's token, and job rows are readable by whoever can read the database.
type SlackArgs struct {
	Text string `json:"text"`
}

// SlackKind is the job kind of SlackArgs.
const SlackKind = "notify.slack"

// Kind names the job.
func (SlackArgs) Kind() string { return SlackKind }

// SlackWorker posts to the configured Slack-compatible incoming webhook.
type SlackWorker struct {
	river.WorkerDefaults[SlackArgs]
	n *Notifier
}

// Timeout bounds one attempt.
func (w *SlackWorker) Timeout(*river.Job[SlackArgs]) time.Duration { return time.Minute }

// Work posts {"text": …}. A network error, 429 or 5xx is returned for River to retry; an answer
// saying the webhook or its payload is no good (400, 403, 404, 410: Slack's invalid_payload,
// invalid_token, no_service, channel_is_archived) cancels the job.
func (w *SlackWorker) Work(ctx context.Context, job *river.Job[SlackArgs]) error {
	if !w.n.SlackEnabled() {
		return errOff("the Slack webhook (PAVED_SLACK_WEBHOOK_URL)")
	}
	return w.n.postSlack(ctx, job.Args.Text)
}

func (n *Notifier) postSlack(ctx context.Context, text string) error {
	body, err := json.Marshal(SlackArgs{Text: text})
	if err != nil {
		return river.JobCancel(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.SlackWebhookURL, bytes.NewReader(body))
	if err != nil {
		// The message would quote the URL, which is secret.
		return river.JobCancel(errors.New("the Slack webhook URL is not a valid URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return fmt.Errorf("post to the Slack webhook: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusBadRequest, code == http.StatusForbidden, code == http.StatusNotFound, code == http.StatusGone:
		return river.JobCancel(fmt.Errorf("the Slack webhook answered %s (%s): it will not take this post, so it is not retried; check PAVED_SLACK_WEBHOOK_URL",
			resp.Status, oneLine(string(snippet))))
	default:
		return fmt.Errorf("the Slack webhook answered %s (%s)", resp.Status, oneLine(string(snippet)))
	}
}

// withoutURL drops the request URL that net/http puts in its errors: the webhook's path is
// its password, and errors are stored in the job row and logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if u := ue.URL; u != "" {
			msg = strings.ReplaceAll(msg, u, "(webhook URL)")
		}
		return errors.New(ue.Op + ": " + msg)
	}
	return err
}
