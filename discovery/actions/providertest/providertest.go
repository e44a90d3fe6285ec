// Package providertest runs stand-ins for the identity providers' APIs that the actions call —
// Google's Directory API tokens, Microsoft Graph's grants and app-role assignments, Okta's app
// assignments and lifecycle — as httptest servers that answer the documented requests with the
// documented responses and keep state: what is deleted stays deleted, what is re-created comes
// back. Switches make them page in small pages, answer 429 with a wait, fail with a 5xx, or
// lose an object meanwhile, so the actions' retry and resume paths can be tested.
package providertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
)

// Faults are the switches every fake server has. The zero value answers every request normally.
type Faults struct {
	mu         sync.Mutex
	pageSize   int
	limited    int
	retryAfter int
	failing    int
	lost       int
	log        []string
}

// SetPageSize caps every page at n items (0: the API's own default).
func (f *Faults) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// RateLimitNext answers the next n requests with HTTP 429, asking to wait seconds (Retry-After,
// or Okta's X-Rate-Limit-Reset).
func (f *Faults) RateLimitNext(n, seconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.retryAfter = n, seconds
}

// FailNext answers the next n requests with HTTP 503.
func (f *Faults) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = n
}

// LoseNextReply carries out the next n requests that change something (not GETs) but answers
// each with HTTP 502, as when a response is lost on the way back: the client retries a change
// that was already made.
func (f *Faults) LoseNextReply(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = n
}

// wrap applies LoseNextReply around h.
func (f *Faults) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		lose := r.Method != http.MethodGet && f.lost > 0
		if lose {
			f.lost--
		}
		f.mu.Unlock()
		if !lose {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": "upstream connection reset"})
	})
}

// Requests returns every request received, as "METHOD /path?query", in order (also those
// answered with a fault).
func (f *Faults) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// Count returns how many requests had method and a path starting with prefix.
func (f *Faults) Count(method, prefix string) int {
	n := 0
	for _, r := range f.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// size is the page size to use given the one asked for (0: def).
func (f *Faults) size(asked, def int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := def
	if asked > 0 {
		n = asked
	}
	if f.pageSize > 0 && f.pageSize < n {
		n = f.pageSize
	}
	return n
}

// fault logs r and returns the fault to answer it with: 429 (and the wait), 503, or 0.
func (f *Faults) fault(r *http.Request) (status, wait int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	switch {
	case f.limited > 0:
		f.limited--
		return http.StatusTooManyRequests, f.retryAfter
	case f.failing > 0:
		f.failing--
		return http.StatusServiceUnavailable, 0
	}
	return 0, 0
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page returns items [from, from+size) of n and the offset of the next page (-1: none).
func page(n, from, size int) (lo, hi, next int) {
	lo = min(max(from, 0), n)
	hi = min(lo+size, n)
	next = -1
	if hi < n {
		next = hi
	}
	return lo, hi, next
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// serve starts h on an httptest server closed when t ends.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// seq hands out ids.
type seq struct{ n int }

func (s *seq) next(prefix string) string {
	s.n++
	return fmt.Sprintf("%s%04d", prefix, s.n)
}

// StoreSource stores src (one of the fakes' Source(), say) in st, allowed to act, and returns it
// as SourceWithSecret reads it back: what a workflow test or a browser test previews through.
func StoreSource(t testing.TB, st *discovery.Store, src discovery.Source) discovery.Source {
	t.Helper()
	ctx := context.Background()
	src.Actions = true
	created, err := st.CreateSource(ctx, audit.System, src)
	if err != nil {
		t.Fatalf("store %s source %q: %v", src.Kind, src.Name, err)
	}
	full, err := st.SourceWithSecret(ctx, created.ID)
	if err != nil {
		t.Fatalf("read %s source %q back: %v", src.Kind, src.Name, err)
	}
	return full
}
