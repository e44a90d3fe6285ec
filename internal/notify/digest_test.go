package notify

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
)

// TestDigestIsOneMessage: a digest of several items is one e-mail to each recipient and one
// webhook post, delivered for real, each listing every item; typed text stays text; a digest
// with no items sends nothing.
func TestDigestIsOneMessage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		serverTLS, clientTLS := testTLS(t)
		s := startSMTP(t, smtpOptions{STARTTLS: true, User: "paved", Pass: "hunter2"}, serverTLS)
		h := startWebhook(t, http.StatusOK)
		n := New(fullConfig(s, clientTLS, h))
		j := newJobs(t, d, n)
		start(t, j)
		ctx := context.Background()
		dg := Digest{Subject: "3 new findings", Lead: "Usage left the conditions of 2 apps:", URL: "/findings",
			Items:      []string{"Zoom — seat limit: 7 people", "Zoom — pilot end: 2 people", "Miro <!channel>\r\nBcc: eve@example.com"},
			Recipients: []string{"sam@example.com", "Ada <ada@example.com>", "SAM@example.com"}, Why: "to the security team."}
		for _, digest := range []Digest{dg, {Subject: "empty", Lead: "nothing", Recipients: dg.Recipients}} {
			if err := d.InTx(ctx, func(tx *sqlx.Tx) error { return n.EnqueueDigestTx(ctx, j, tx, digest) }); err != nil {
				t.Fatal(err)
			}
		}
		want := "Usage left the conditions of 2 apps:\n\n- Zoom — seat limit: 7 people\n- Zoom — pilot end: 2 people\n- Miro <!channel> Bcc: eve@example.com\n\n" +
			"See https://paved.example.com/findings\n\n-- \nPaved sends this to the security team.\n"
		got := map[string]bool{}
		for range 2 {
			m := s.next(t)
			p := parse(t, m)
			got[m.To[0]] = true
			if p.subject != "3 new findings" || p.body != want {
				t.Errorf("to %v: subject %q, body:\n%s\nwant:\n%s", m.To, p.subject, p.body, want)
			}
		}
		s.none(t)
		if !got["sam@example.com"] || !got["ada@example.com"] {
			t.Errorf("sent to %v", got)
		}
		post := h.next(t)
		if !strings.Contains(post.Text, "• Zoom — seat limit: 7 people\n• Zoom — pilot end: 2 people\n• Miro &lt;!channel&gt; Bcc") {
			t.Errorf("post:\n%s", post.Text)
		}
		waitFinal(t, d, 3)
		if h.count() != 1 {
			t.Errorf("%d posts, want 1", h.count())
		}
	})
}
