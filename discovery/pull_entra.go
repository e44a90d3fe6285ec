package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// EntraPuller reads Entra ID sign-ins from Microsoft Graph, GET /v1.0/auditLogs/signIns, with a
// bearer token. (Getting that token — client credentials for an app registration with
// AuditLog.Read.All — is not done here: the source's secret is used as the token as is.)
//
// Graph returns sign-ins newest first, so the newest createdDateTime is only known to be safe
// as the next window start once every page is stored. While a pull is under way the cursor is a
// resume point (window start, newest seen, @odata.nextLink) saved after each page; when it ends
// the cursor becomes the newest createdDateTime. Each window starts Overlap before the cursor,
// because sign-ins reach the log minutes late; the overlap is deduplicated on import (by id).
type EntraPuller struct {
	PullHTTP
	// Top is the page size (default and maximum 1000).
	Top int
	// Overlap is subtracted from the cursor (default 10 min; negative for none).
	Overlap time.Duration
}

// Pull implements Puller.
func (p *EntraPuller) Pull(ctx context.Context, src Source, cursor string, page func(string, io.Reader) error) (string, error) {
	rp, err := parseCursor(cursor, p.now())
	if err != nil {
		return cursor, err
	}
	next := rp.Next
	if next == "" {
		top := p.Top
		if top <= 0 || top > 1000 {
			top = 1000
		}
		overlap := orDefault(p.Overlap, 10*time.Minute)
		from := rp.Since
		if overlap > 0 {
			from = from.Add(-overlap)
		}
		q := url.Values{
			"$filter": {"createdDateTime ge " + from.UTC().Format("2006-01-02T15:04:05Z")},
			"$top":    {strconv.Itoa(top)},
		}
		next = src.BaseURL + "/v1.0/auditLogs/signIns?" + q.Encode()
	} else if err := sameOrigin(src.BaseURL, next); err != nil {
		return cursor, err
	}
	for {
		body, _, err := p.get(ctx, next, "Bearer "+src.Secret)
		if err != nil {
			return cursor, err
		}
		var pg struct {
			Value []struct {
				CreatedDateTime string `json:"createdDateTime"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return cursor, fmt.Errorf("graph sign-ins page: %w", err)
		}
		for _, v := range pg.Value {
			if t, err := time.Parse(time.RFC3339Nano, v.CreatedDateTime); err == nil && t.After(rp.Newest) {
				rp.Newest = t.UTC()
			}
		}
		if pg.NextLink != "" {
			if err := sameOrigin(src.BaseURL, pg.NextLink); err != nil {
				return cursor, err
			}
		}
		rp.Next = pg.NextLink
		after := rp.timeCursor()
		if rp.Next != "" {
			after = rp.String()
		}
		if len(pg.Value) > 0 {
			if err := page(FormatEntra, newPage(body, after)); err != nil {
				return cursor, err
			}
		}
		cursor = after
		if rp.Next == "" {
			return cursor, nil
		}
		next = rp.Next
	}
}
