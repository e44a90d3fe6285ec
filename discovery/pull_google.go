package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// GooglePuller reads Google Workspace activities from the Admin SDK Reports API,
// GET /admin/reports/v1/activity/users/all/applications/{app}, for the applications token
// (OAuth grants) and saml (Google as IdP). A source whose secret is a service-account key (with
// domain-wide delegation of the admin.reports.audit.readonly scope) gets its tokens with a signed
// JWT for its subject, an admin, cached until they expire; any other secret is sent as a bearer
// token.
//
// Every window starts Overlap (default 10 min) before the cursor, since activities reach the
// report late; overlapping events are deduplicated on import. Activities come newest first, so
// while a pull is under way the cursor is a resume point (window start, newest seen, the
// application and pageToken) saved after each page; when it ends the cursor is the newest id.time.
type GooglePuller struct {
	PullHTTP
	// MaxResults is the page size (default and maximum 1000).
	MaxResults int
	// Overlap is subtracted from the cursor (default 10 min; negative for none).
	Overlap time.Duration
	// Applications to read (default token, saml).
	Applications []string
	// Scope is asked for with a service-account key (default GoogleReportsScope).
	Scope string

	tokens tokenCache
}

// Pull implements Puller.
func (p *GooglePuller) Pull(ctx context.Context, src Source, cursor string, page func(string, io.Reader) error) (string, error) {
	rp, err := parseCursor(cursor, p.now())
	if err != nil {
		return cursor, err
	}
	cred, err := p.googleCredential(ctx, src)
	if err != nil {
		return cursor, err
	}
	apps := p.Applications
	if len(apps) == 0 {
		apps = []string{"token", "saml"}
	}
	start := 0
	if rp.App != "" {
		if start = slices.Index(apps, rp.App); start < 0 {
			start, rp.Next = 0, ""
		}
	}
	size := p.MaxResults
	if size <= 0 || size > 1000 {
		size = 1000
	}
	from := rp.Since
	if overlap := orDefault(p.Overlap, 10*time.Minute); overlap > 0 {
		from = from.Add(-overlap)
	}
	for i := start; i < len(apps); i++ {
		app := apps[i]
		token := ""
		if i == start {
			token = rp.Next
		}
		for {
			q := url.Values{"startTime": {from.UTC().Format("2006-01-02T15:04:05.000Z")}, "maxResults": {strconv.Itoa(size)}}
			if token != "" {
				q.Set("pageToken", token)
			}
			u := src.BaseURL + "/admin/reports/v1/activity/users/all/applications/" + url.PathEscape(app) + "?" + q.Encode()
			body, _, err := p.get(ctx, u, cred)
			if err != nil {
				return cursor, err
			}
			var pg struct {
				Items []struct {
					ID struct {
						Time string `json:"time"`
					} `json:"id"`
				} `json:"items"`
				NextPageToken string `json:"nextPageToken"`
			}
			if err := json.Unmarshal(body, &pg); err != nil {
				return cursor, fmt.Errorf("google %s activities page: %w", app, err)
			}
			for _, it := range pg.Items {
				if t, err := time.Parse(time.RFC3339Nano, it.ID.Time); err == nil && t.After(rp.Newest) {
					rp.Newest = t.UTC()
				}
			}
			token = pg.NextPageToken
			var after string
			switch {
			case token != "":
				rp.App, rp.Next = app, token
				after = rp.String()
			case i+1 < len(apps):
				rp.App, rp.Next = apps[i+1], ""
				after = rp.String()
			default:
				after = rp.timeCursor()
			}
			if len(pg.Items) > 0 {
				if err := page(FormatGoogle, newPage(body, after)); err != nil {
					return cursor, err
				}
			}
			cursor = after
			if token == "" {
				break
			}
		}
	}
	return cursor, nil
}
