package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OktaPuller polls the Okta System Log, GET /api/v1/logs, with an SSWS API token.
//
// The cursor is the "after" link of the Link rel="next" header (what Okta recommends for
// polling) or, for the first pull or a cursor set by hand, a time used as since (empty: the last
// DefaultLookback). A polling request always returns a next link, even on an empty page, so the
// pull stops at the first empty page; its next link is the cursor for the next pull.
type OktaPuller struct {
	PullHTTP
	// Limit is the page size (default and maximum 1000).
	Limit int
}

// Pull implements Puller.
func (p *OktaPuller) Pull(ctx context.Context, src Source, cursor string, page func(string, io.Reader) error) (string, error) {
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	next := strings.TrimSpace(cursor)
	if !strings.HasPrefix(next, "http://") && !strings.HasPrefix(next, "https://") {
		since := p.now().Add(-DefaultLookback)
		if next != "" {
			t, err := time.Parse(time.RFC3339Nano, next)
			if err != nil {
				return cursor, fmt.Errorf("okta cursor %q is neither a next link nor a time", next)
			}
			since = t
		}
		q := url.Values{"since": {since.UTC().Format("2006-01-02T15:04:05.000Z")}, "limit": {strconv.Itoa(limit)}, "sortOrder": {"ASCENDING"}}
		next = src.BaseURL + "/api/v1/logs?" + q.Encode()
	} else if err := sameOrigin(src.BaseURL, next); err != nil {
		return cursor, err
	}
	cred := staticCredential("SSWS " + strings.TrimSpace(src.Secret))
	for {
		body, hdr, err := p.get(ctx, next, cred)
		if err != nil {
			return cursor, err
		}
		var events []json.RawMessage
		if err := json.Unmarshal(body, &events); err != nil {
			return cursor, fmt.Errorf("okta logs page: %w", err)
		}
		link := nextLink(hdr)
		if link != "" {
			if err := sameOrigin(src.BaseURL, link); err != nil {
				return cursor, err
			}
		}
		if len(events) == 0 {
			// Polling always links a next page; an empty page is the end for now.
			if link != "" {
				cursor = link
			}
			return cursor, nil
		}
		if link == "" {
			// A bounded query ended; resume from the next link is impossible, so from the time of
			// the newest event (the overlap is deduplicated on import).
			link = newestOkta(events, cursor)
		}
		if err := page(FormatOkta, newPage(body, link)); err != nil {
			return cursor, err
		}
		cursor = link
		if strings.HasPrefix(link, "http") {
			next = link
			continue
		}
		return cursor, nil
	}
}

// newestOkta returns the newest published time of events, or fallback.
func newestOkta(events []json.RawMessage, fallback string) string {
	var newest time.Time
	for _, raw := range events {
		var e struct {
			Published string `json:"published"`
		}
		if json.Unmarshal(raw, &e) == nil {
			if t, err := time.Parse(time.RFC3339Nano, e.Published); err == nil && t.After(newest) {
				newest = t
			}
		}
	}
	if newest.IsZero() {
		return fallback
	}
	return newest.UTC().Format(time.RFC3339Nano)
}

// nextLink returns the URL of the Link header entry with rel="next".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(part, ";")
			if !ok {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(k, "rel") && strings.Trim(val, `"`) == "next" {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}
