package discovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// matcher links discovered app keys to catalogue apps: an exact identifier first (domain,
// Entra app id, Google client id, Okta app), then the normalised name against the apps' names
// and aliases.
type matcher struct {
	ids   map[string]int64 // "kind:value" → app id
	names map[string]int64 // NormalizeAppName → app id
}

func newMatcher(ctx context.Context, q sqlx.QueryerContext) (*matcher, error) {
	m := &matcher{ids: map[string]int64{}, names: map[string]int64{}}
	var ids []struct {
		AppID int64  `db:"app_id"`
		Kind  string `db:"kind"`
		Value string `db:"value"`
	}
	if err := sqlx.SelectContext(ctx, q, &ids, "SELECT app_id, kind, value FROM app_identifiers"); err != nil {
		return nil, fmt.Errorf("load identifiers: %w", err)
	}
	for _, id := range ids {
		switch id.Kind {
		case "domain":
			m.ids[KeyDomain+strings.ToLower(id.Value)] = id.AppID
		case "entra_app_id":
			m.ids[KeyEntra+strings.ToLower(id.Value)] = id.AppID
		case "google_client_id":
			m.ids[KeyGoogle+strings.ToLower(id.Value)] = id.AppID
		case "okta_app":
			m.ids[KeyOkta+id.Value] = id.AppID
			m.names[NormalizeAppName(id.Value)] = id.AppID
		case "alias":
			m.names[NormalizeAppName(id.Value)] = id.AppID
		}
	}
	var apps []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &apps, "SELECT id, name FROM apps"); err != nil {
		return nil, fmt.Errorf("load apps: %w", err)
	}
	for _, a := range apps {
		if n := NormalizeAppName(a.Name); n != "" {
			if _, taken := m.names[n]; !taken {
				m.names[n] = a.ID
			}
		}
	}
	return m, nil
}

func (m *matcher) match(key, name string) *int64 {
	if id, ok := m.ids[strings.ToLower(key)]; ok {
		return &id
	}
	if id, ok := m.ids[key]; ok {
		return &id
	}
	if n := NormalizeAppName(name); n != "" {
		if id, ok := m.names[n]; ok {
			return &id
		}
	}
	if rest, ok := strings.CutPrefix(key, KeyName); ok {
		if id, ok := m.names[rest]; ok {
			return &id
		}
	}
	// A domain key may be a subdomain of a catalogued domain (acme.slack.com → slack.com).
	if host, ok := strings.CutPrefix(key, KeyDomain); ok {
		for h := host; strings.Contains(h, "."); {
			if id, ok := m.ids[KeyDomain+h]; ok {
				return &id
			}
			_, h, _ = strings.Cut(h, ".")
		}
	}
	return nil
}
