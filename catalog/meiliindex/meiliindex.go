// Package meiliindex is the catalogue's search index on a Meilisearch server. It is the only
// package that imports meilisearch-go.
package meiliindex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/pavedhq/paved/catalog"
)

// Index talks to one Meilisearch server and, once opened with Open, to one index on it: the
// catalogue's search index (catalog.Index).
type Index struct {
	client meilisearch.ServiceManager
	url    string
	// hc and key serve Search, which calls Meilisearch's search route itself (see Search).
	hc  *http.Client
	key string
	// uid names the index; empty for an Index made by New, which can only Ping and Version.
	uid   string
	index meilisearch.IndexManager
}

var _ catalog.Index = (*Index)(nil)

// New returns an Index for the server at url, authenticating with key. Every call is bounded
// by timeout so a hung server cannot hold a request. It checks the server only (Ping,
// Version); Open also picks the index that holds the catalogue.
func New(url, key string, timeout time.Duration) *Index {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	hc := &http.Client{Timeout: timeout, Transport: newTransport()}
	c := meilisearch.New(url, meilisearch.WithAPIKey(key), meilisearch.WithCustomClient(hc))
	return &Index{client: c, url: strings.TrimSuffix(url, "/"), hc: hc, key: key}
}

// Ping proves the server answers and accepts the key: /health needs no key, so the version
// call is what catches a wrong one.
func (ix *Index) Ping(ctx context.Context) error {
	h, err := ix.client.HealthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("meilisearch at %s is not reachable: %w", ix.url, err)
	}
	if h.Status != "available" {
		return fmt.Errorf("meilisearch at %s reports status %q", ix.url, h.Status)
	}
	if _, err := ix.client.VersionWithContext(ctx); err != nil {
		var me *meilisearch.Error
		if errors.As(err, &me) && (me.StatusCode == http.StatusUnauthorized || me.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("meilisearch at %s refused the API key (check PAVED_SEARCH_KEY): %w", ix.url, err)
		}
		return fmt.Errorf("meilisearch at %s: %w", ix.url, err)
	}
	return nil
}

// Version returns the server's version string.
func (ix *Index) Version(ctx context.Context) (string, error) {
	v, err := ix.client.VersionWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("meilisearch version: %w", err)
	}
	return v.PkgVersion, nil
}
