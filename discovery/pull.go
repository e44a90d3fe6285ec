package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
)

// Source is an identity provider's API that discovery pulls on a schedule. Secret is the Okta
// API token, the Entra app registration's client credentials, the Google service-account key
// with its subject, or a bearer token (the formats are described in pull_auth.go). It is kept
// server-side: it is never serialised (json:"-") and the listings (Sources, Source) leave it
// empty; only the pull path reads it. It is stored in clear text — encrypting it at rest is left
// for later.
type Source struct {
	ID      int64  `db:"id" json:"id"`
	Kind    string `db:"kind" json:"kind"` // FormatOkta, FormatEntra or FormatGoogle
	Name    string `db:"name" json:"name"`
	BaseURL string `db:"base_url" json:"base_url"`
	Secret  string `db:"secret" json:"-"`
	Cursor  string `db:"cursor" json:"cursor,omitempty"`
	Enabled bool   `db:"enabled" json:"enabled"`
	// Actions lets security act at the provider through this source (revoke grants, remove
	// assignments, turn an app off). False, the default, keeps the source read-only.
	Actions   bool       `db:"actions" json:"actions"`
	LastRunAt *time.Time `db:"last_run_at" json:"last_run_at,omitempty"`
	LastError string     `db:"last_error" json:"last_error,omitempty"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	// The last directory pull that stored the source's groups and departments, how many people
	// it listed, and why the latest one failed (empty when it did not).
	DirectorySyncedAt *time.Time `db:"directory_synced_at" json:"directory_synced_at,omitempty"`
	DirectoryPeople   int        `db:"directory_people" json:"directory_people"`
	DirectoryError    string     `db:"directory_error" json:"directory_error,omitempty"`
}

// Errors of the source store.
var (
	ErrUnknownSource = errors.New("no such discovery source")
	ErrSourceExists  = errors.New("a discovery source with this name already exists")
)

// validateSource checks a source before it is stored. A problem with the secret is a
// *SourceFieldError naming the field.
func validateSource(src *Source) error {
	src.Name = strings.TrimSpace(src.Name)
	src.BaseURL = strings.TrimRight(strings.TrimSpace(src.BaseURL), "/")
	switch src.Kind {
	case FormatOkta, FormatEntra, FormatGoogle:
	default:
		return fmt.Errorf("source kind %q: choose okta, entra or google", src.Kind)
	}
	if src.Name == "" || len(src.Name) > 100 {
		return errors.New("a source needs a name of at most 100 characters")
	}
	if err := checkBaseURL(src.BaseURL); err != nil {
		return err
	}
	return validateSecret(src.Kind, src.Secret)
}

// invalidSource turns a validation error into the coded error the portal shows: a
// *SourceFieldError under its field, anything else under "source".
func invalidSource(err error) error {
	field := "source"
	var fe *SourceFieldError
	if errors.As(err, &fe) {
		field = fe.Field
	}
	return &errs.Error{Code: errs.Invalid, Message: err.Error(), Fields: map[string]string{field: err.Error()}, Err: err}
}

// checkBaseURL accepts https URLs, and plain http only to a loopback host (tests, local proxies):
// the API token must never travel in clear over a network.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("base URL %q: give a URL such as https://example.okta.com", raw)
	}
	if err := checkSecureURL(raw); err != nil {
		return fmt.Errorf("base URL %q: %w", raw, err)
	}
	return nil
}

// checkSecureURL accepts https URLs, and plain http only to a loopback host.
func checkSecureURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return errors.New("must be https (plain http only to localhost)")
}

// CreateSource stores a new source, enabled, with an empty cursor (the first pull looks back
// DefaultLookback). src.Actions says whether it may act at the provider.
func (s *Store) CreateSource(ctx context.Context, actor audit.Actor, src Source) (Source, error) {
	if err := validateSource(&src); err != nil {
		return Source{}, invalidSource(err)
	}
	src.Enabled, src.CreatedAt, src.LastRunAt, src.LastError = true, s.now(), nil, ""
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &src.ID, tx.Rebind(`INSERT INTO discovery_sources (kind, name, base_url, secret, cursor, enabled, actions, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), src.Kind, src.Name, src.BaseURL, src.Secret, src.Cursor, true, src.Actions, src.CreatedAt); err != nil {
			if db.IsUniqueViolation(err) {
				return &errs.Error{Code: errs.Conflict, Message: ErrSourceExists.Error(), Fields: map[string]string{"name": "Another source has this name."}, Err: ErrSourceExists}
			}
			return fmt.Errorf("create source: %w", err)
		}
		return audit.Append(ctx, tx, src.CreatedAt, actor, "discovery.source.create", "discovery_source", fmt.Sprint(src.ID),
			map[string]any{"kind": src.Kind, "name": src.Name, "base_url": src.BaseURL, "actions": src.Actions})
	})
	if err != nil {
		return Source{}, err
	}
	src.Secret = ""
	return src, nil
}

const sourceColumns = `id, kind, name, base_url, cursor, enabled, actions, last_run_at, last_error, created_at,
	directory_synced_at, directory_people, directory_error`

// Sources lists every source by name, without their secrets.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	var out []Source
	if err := s.db.SelectContext(ctx, &out, `SELECT `+sourceColumns+` FROM discovery_sources ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	return out, nil
}

// Source returns one source, without its secret.
func (s *Store) Source(ctx context.Context, id int64) (Source, error) {
	var src Source
	err := s.db.GetContext(ctx, &src, s.db.Rebind(`SELECT `+sourceColumns+` FROM discovery_sources WHERE id = ?`), id)
	if db.IsNotFound(err) {
		return src, ErrUnknownSource
	}
	return src, err
}

// SourceWithSecret is Source with the secret, for the paths that call the provider: pulls and
// actions. Its result must never be serialised to a page or an API response (Secret is
// json:"-", but a template could still print it).
func (s *Store) SourceWithSecret(ctx context.Context, id int64) (Source, error) {
	var src Source
	err := s.db.GetContext(ctx, &src, s.db.Rebind(`SELECT `+sourceColumns+`, secret FROM discovery_sources WHERE id = ?`), id)
	if db.IsNotFound(err) {
		return src, ErrUnknownSource
	}
	return src, err
}

// SetSourceEnabled turns a source's scheduled pulls on or off.
func (s *Store) SetSourceEnabled(ctx context.Context, actor audit.Actor, id int64, enabled bool) error {
	return s.updateSource(ctx, actor, id, "discovery.source.enable", map[string]any{"enabled": enabled},
		`UPDATE discovery_sources SET enabled = ? WHERE id = ?`, enabled, id)
}

// SetSourceActions allows or forbids acting at the provider through a source.
func (s *Store) SetSourceActions(ctx context.Context, actor audit.Actor, id int64, actions bool) error {
	return s.updateSource(ctx, actor, id, "discovery.source.actions", map[string]any{"actions": actions},
		`UPDATE discovery_sources SET actions = ? WHERE id = ?`, actions, id)
}

// SetSourceSecret replaces a source's API token or credentials, checked for the source's kind.
func (s *Store) SetSourceSecret(ctx context.Context, actor audit.Actor, id int64, secret string) error {
	src, err := s.Source(ctx, id)
	if err != nil {
		return err
	}
	if err := validateSecret(src.Kind, secret); err != nil {
		return invalidSource(err)
	}
	return s.updateSource(ctx, actor, id, "discovery.source.secret", nil,
		`UPDATE discovery_sources SET secret = ? WHERE id = ?`, secret, id)
}

// DeleteSource removes a source. Events it imported stay; the groups its directory gave people go.
func (s *Store) DeleteSource(ctx context.Context, actor audit.Actor, id int64) error {
	src, err := s.Source(ctx, id)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM discovery_sources WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete source %d: %w", id, err)
		}
		if err := forgetDirectory(ctx, tx, src); err != nil {
			return err
		}
		return audit.Append(ctx, tx, s.now(), actor, "discovery.source.delete", "discovery_source", fmt.Sprint(id), nil)
	})
}

func (s *Store) updateSource(ctx context.Context, actor audit.Actor, id int64, action string, details map[string]any, q string, args ...any) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
		if err != nil {
			return fmt.Errorf("update source %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &errs.Error{Code: errs.NotFound, Message: "No such source.", Err: ErrUnknownSource}
		}
		return audit.Append(ctx, tx, s.now(), actor, action, "discovery_source", fmt.Sprint(id), details)
	})
}

func (s *Store) saveCursor(ctx context.Context, id int64, cursor string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE discovery_sources SET cursor = ? WHERE id = ?`), cursor, id)
	if err != nil {
		return fmt.Errorf("save cursor of source %d: %w", id, err)
	}
	return nil
}

// Puller fetches a source's new events from its vendor's API. Pull starts at cursor (empty: a
// default look-back), hands every non-empty page to page in the vendor's page format (ready for
// Store.Import) and returns the cursor the next pull starts from. A page's body also implements
// PageCursor: the cursor to resume from once that page is stored, so a pull that fails half way
// resumes after its last stored page.
type Puller interface {
	Pull(ctx context.Context, src Source, cursor string, page func(format string, body io.Reader) error) (next string, err error)
}

// PageCursor is implemented by the page bodies Pullers hand over.
type PageCursor interface {
	Cursor() string
}

// Page is one page of an API response with the cursor that follows it.
type Page struct {
	*bytes.Reader
	Next string // cursor to resume from after this page is stored
}

// Cursor implements PageCursor.
func (p *Page) Cursor() string { return p.Next }

func newPage(body []byte, next string) *Page { return &Page{Reader: bytes.NewReader(body), Next: next} }

// PullResult sums up one pull of a source.
type PullResult struct {
	Pages     int
	Read      int
	New       int
	Duplicate int
	Rejected  int
	Cursor    string
}

// PullSource pulls src with p. Each page is imported as its own run ("okta page 3 of <name>"),
// so Import's idempotency applies (overlapping windows add nothing), and the source's cursor is
// saved after each page's import has committed: a crash or error resumes from the last stored
// page. The run is recorded on the source: last_run_at and last_error (empty on success).
func (s *Store) PullSource(ctx context.Context, actor audit.Actor, src Source, p Puller) (PullResult, error) {
	start := time.Now()
	res, err := s.pullSource(ctx, actor, src, p)
	s.Metrics.observePull(src.Kind, err, time.Since(start))
	return res, err
}

func (s *Store) pullSource(ctx context.Context, actor audit.Actor, src Source, p Puller) (PullResult, error) {
	var res PullResult
	if src.Secret == "" {
		full, err := s.SourceWithSecret(ctx, src.ID)
		if err != nil {
			return res, err
		}
		src = full
	}
	res.Cursor = src.Cursor
	next, perr := p.Pull(ctx, src, src.Cursor, func(format string, body io.Reader) error {
		res.Pages++
		run, err := s.Import(ctx, actor, format, fmt.Sprintf("%s page %d of %s", src.Kind, res.Pages, src.Name), body)
		res.Read += run.Read
		res.New += run.New
		res.Duplicate += run.Duplicate
		res.Rejected += run.Rejected
		if err != nil {
			return err
		}
		if pc, ok := body.(PageCursor); ok && pc.Cursor() != "" {
			if err := s.saveCursor(ctx, src.ID, pc.Cursor()); err != nil {
				return err
			}
			res.Cursor = pc.Cursor()
		}
		return nil
	})
	if perr == nil && next != "" && next != res.Cursor {
		if perr = s.saveCursor(ctx, src.ID, next); perr == nil {
			res.Cursor = next
		}
	}
	msg := ""
	if perr != nil {
		msg = perr.Error()
	}
	// Recorded even if ctx was cancelled, so the admin page shows why the pull stopped.
	endCtx := context.WithoutCancel(ctx)
	if _, err := s.db.ExecContext(endCtx, s.db.Rebind(`UPDATE discovery_sources SET last_run_at = ?, last_error = ? WHERE id = ?`),
		s.now(), msg, src.ID); err != nil && perr == nil {
		perr = fmt.Errorf("record pull of source %d: %w", src.ID, err)
	}
	if perr != nil {
		return res, fmt.Errorf("pull %s source %q: %w", src.Kind, src.Name, perr)
	}
	return res, nil
}

// DefaultLookback is how far back the first pull of a source (empty cursor) reaches.
const DefaultLookback = 24 * time.Hour

// maxPageBytes bounds one API response: 1000 events of a few KB each fit well inside.
const maxPageBytes = 64 << 20

// PullHTTP is the HTTP behaviour the pullers share: retries of 5xx and network errors with
// exponential backoff, and waits on 429 as told by Retry-After or X-Rate-Limit-Reset.
type PullHTTP struct {
	// Client does the requests; nil means a client with a 60 s timeout.
	Client *http.Client
	// Retries is how many times a 5xx or network error is retried (default 3).
	Retries int
	// RateLimitRetries is how many 429s in a row are waited out (default 5).
	RateLimitRetries int
	// MaxWait bounds a single wait; a 429 asking for longer fails the pull (default 5 min), which
	// the next scheduled pull resumes.
	MaxWait time.Duration
	// Backoff is the first 5xx wait, doubled each retry (default 1 s).
	Backoff time.Duration
	// Sleep waits d or until ctx ends; tests replace it. Nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var defaultHTTPClient = &http.Client{Timeout: 60 * time.Second}

func (h *PullHTTP) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *PullHTTP) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// HTTPError is a response the pullers (or the actions' requests) gave up on.
type HTTPError struct {
	Method     string // empty means GET
	URL        string
	StatusCode int
	Summary    string // the vendor's error message, if the body had one
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", orDefault(e.Method, http.MethodGet), e.URL, e.StatusCode)
	if e.Summary != "" {
		msg += ": " + e.Summary
	}
	return msg
}

// get fetches rawURL with the Authorization header of cred and returns the body of a 2xx
// response.
func (h *PullHTTP) get(ctx context.Context, rawURL string, cred *credential) ([]byte, http.Header, error) {
	return h.send(ctx, http.MethodGet, rawURL, nil, cred)
}

// send makes a request with the Authorization header of cred, and a JSON body unless body is
// nil, and returns the body of a 2xx response. 5xx and network errors are retried with backoff and
// 429s waited out, for every method: the actions' writes are deletes of a named object or
// re-creations that check first, so a repeat does no harm. A minted token is asked for on every
// attempt, so a long rate-limit wait never sends an expired one.
func (h *PullHTTP) send(ctx context.Context, method, rawURL string, body []byte, cred *credential) ([]byte, http.Header, error) {
	client := h.httpClient()
	retries := orDefault(h.Retries, 3)
	rateRetries := orDefault(h.RateLimitRetries, 5)
	maxWait := orDefault(h.MaxWait, 5*time.Minute)
	backoff := orDefault(h.Backoff, time.Second)
	logged := redactURL(rawURL)
	failures, limited := 0, 0
	for {
		var reqBody io.Reader
		if body != nil {
			reqBody = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, reqBody)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", method, logged, err)
		}
		auth, err := cred.header()
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "paved-discovery")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		var (
			respBody []byte
			wait     time.Duration
		)
		if err == nil {
			respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
			resp.Body.Close()
			if err == nil && len(respBody) > maxPageBytes {
				return nil, nil, fmt.Errorf("%s %s: response larger than %d bytes", method, logged, maxPageBytes)
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case err != nil || resp.StatusCode >= 500:
			if failures >= retries {
				if err != nil {
					return nil, nil, fmt.Errorf("%s %s: %w (after %d retries)", method, logged, err, retries)
				}
				return nil, nil, &HTTPError{Method: method, URL: logged, StatusCode: resp.StatusCode, Summary: errorSummary(respBody) + fmt.Sprintf(" (after %d retries)", retries)}
			}
			wait = backoff << failures
			if err == nil {
				if w, ok := retryAfter(resp.Header, h.now()); ok {
					wait = w
				}
			}
			failures++
		case resp.StatusCode == http.StatusTooManyRequests:
			w, ok := retryAfter(resp.Header, h.now())
			if !ok {
				w = backoff << limited
			}
			if limited >= rateRetries || w > maxWait {
				return nil, nil, &HTTPError{Method: method, URL: logged, StatusCode: resp.StatusCode, Summary: errorSummary(respBody) + fmt.Sprintf(" (rate limited; retry in %s)", w.Round(time.Second))}
			}
			wait = w
			limited++
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return respBody, resp.Header, nil
		default:
			if resp.StatusCode == http.StatusUnauthorized {
				cred.refused()
			}
			return nil, nil, &HTTPError{Method: method, URL: logged, StatusCode: resp.StatusCode, Summary: errorSummary(respBody)}
		}
		if wait > maxWait {
			wait = maxWait
		}
		if err := h.sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
	}
}

// retryAfter reads how long to wait from Retry-After (seconds or an HTTP date) or Okta's
// X-Rate-Limit-Reset (epoch seconds when the window resets).
func retryAfter(hd http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(hd.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(hd.Get("X-Rate-Limit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			// The reset is a whole second; wait until just after it.
			return max(time.Unix(n, 0).Sub(now)+time.Second, time.Second), true
		}
	}
	return 0, false
}

// errorSummary extracts the vendor's message from an error body: Okta {errorCode, errorSummary},
// Graph and Google {error: {code, message}}, OAuth {error, error_description}.
func errorSummary(body []byte) string {
	var e struct {
		ErrorCode    string          `json:"errorCode"`
		ErrorSummary string          `json:"errorSummary"`
		Error        json.RawMessage `json:"error"`
		Description  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if e.ErrorCode != "" || e.ErrorSummary != "" {
		return strings.TrimSpace(e.ErrorCode + " " + e.ErrorSummary)
	}
	var nested struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(e.Error, &nested) == nil && (nested.Message != "" || nested.Code != nil) {
		return strings.TrimSpace(fmt.Sprint(orDefault[any](nested.Code, "")) + " " + nested.Message)
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return strings.TrimSpace(s + " " + e.Description)
	}
	return ""
}

// redactURL drops the query from a URL for messages: paging tokens are long and sometimes
// sensitive.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

// sameOrigin reports whether next (a link the API returned) points at base's scheme and host,
// so the token is never sent anywhere else.
func sameOrigin(base, next string) error {
	b, err1 := url.Parse(base)
	n, err2 := url.Parse(next)
	if err1 != nil || err2 != nil || !strings.EqualFold(b.Scheme, n.Scheme) || !strings.EqualFold(b.Host, n.Host) {
		return fmt.Errorf("next-page link %q is not on %s", redactURL(next), base)
	}
	return nil
}

// resumePoint is the cursor while a newest-first pull (Graph, Google) is half done: the window
// it pulls, the newest event seen so far and the next page to fetch. A plain time is the cursor
// between pulls.
type resumePoint struct {
	Since  time.Time `json:"since"`
	Newest time.Time `json:"newest,omitzero"`
	App    string    `json:"app,omitempty"`  // Google: the application being paged
	Next   string    `json:"next,omitempty"` // Graph: the @odata.nextLink; Google: the pageToken
}

func (r resumePoint) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// parseCursor reads a cursor: empty (the look-back from now), a time, or a resume point.
func parseCursor(cursor string, now time.Time) (resumePoint, error) {
	cursor = strings.TrimSpace(cursor)
	switch {
	case cursor == "":
		return resumePoint{Since: now.Add(-DefaultLookback).UTC()}, nil
	case strings.HasPrefix(cursor, "{"):
		var r resumePoint
		if err := json.Unmarshal([]byte(cursor), &r); err != nil {
			return r, fmt.Errorf("read cursor: %w", err)
		}
		return r, nil
	}
	t, err := time.Parse(time.RFC3339Nano, cursor)
	if err != nil {
		return resumePoint{}, fmt.Errorf("cursor %q is neither a time nor a resume point", cursor)
	}
	return resumePoint{Since: t.UTC()}, nil
}

// timeCursor formats the between-pulls cursor: the newest event seen, else the window start.
func (r resumePoint) timeCursor() string {
	t := r.Since
	if r.Newest.After(t) {
		t = r.Newest
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// PullArgs asks for a pull of one source (SourceID) or of every enabled source (zero).
type PullArgs struct {
	SourceID int64 `json:"source_id,omitempty"`
}

// Kind names the job.
func (PullArgs) Kind() string { return "discovery.pull_sources" }

// PullWorker pulls sources with the Puller registered for their kind.
type PullWorker struct {
	river.WorkerDefaults[PullArgs]
	Store   *Store
	Pullers map[string]Puller
}

// Timeout lets a pull of many pages (and rate-limit waits) run longer than River's default minute.
func (w *PullWorker) Timeout(*river.Job[PullArgs]) time.Duration { return 30 * time.Minute }

// Work pulls the sources. Each source's failure is recorded on it (last_error); the job fails,
// and River retries it, only if some source failed.
func (w *PullWorker) Work(ctx context.Context, job *river.Job[PullArgs]) error {
	return w.Store.PullAll(ctx, audit.System, w.Pullers, job.Args.SourceID)
}

// PullAll pulls one source (id ≠ 0, enabled or not) or every enabled source, one after the other.
func (s *Store) PullAll(ctx context.Context, actor audit.Actor, pullers map[string]Puller, id int64) error {
	var ids []int64
	if id != 0 {
		ids = []int64{id}
	} else if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT id FROM discovery_sources WHERE enabled = ? ORDER BY id`), true); err != nil {
		return fmt.Errorf("list enabled sources: %w", err)
	}
	var errs []error
	for _, id := range ids {
		src, err := s.SourceWithSecret(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := pullers[src.Kind]
		if p == nil {
			errs = append(errs, fmt.Errorf("no puller for %s source %q", src.Kind, src.Name))
			continue
		}
		if _, err := s.PullSource(ctx, actor, src, p); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// PullInterval is how often every enabled source is pulled.
const PullInterval = 15 * time.Minute

// PullPeriodic pulls every enabled source every PullInterval on one replica.
func PullPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(PullInterval), func() (river.JobArgs, *river.InsertOpts) {
		return PullArgs{}, &river.InsertOpts{MaxAttempts: 3}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// DefaultPullers returns the production pullers, one per source kind.
func DefaultPullers() map[string]Puller {
	return map[string]Puller{FormatOkta: &OktaPuller{}, FormatEntra: &EntraPuller{}, FormatGoogle: &GooglePuller{}}
}

// RegisterPullJobs adds the log and directory pull workers to j; nil pullers means
// DefaultPullers. The directory pulls use the pullers that can read a directory, so both share
// their token caches.
func (s *Store) RegisterPullJobs(j *jobs.Jobs, pullers map[string]Puller) {
	if pullers == nil {
		pullers = DefaultPullers()
	}
	jobs.AddWorker(j, &PullWorker{Store: s, Pullers: pullers})
	jobs.AddWorker(j, &DirectoryWorker{Store: s, Pullers: DefaultDirectoryPullers(pullers)})
}
