package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// Test records below follow the documented response shapes (DESIGN.md §4); they are our own.

func oktaEvent(uuid, published, app string) string {
	return fmt.Sprintf(`{"uuid":%q,"published":%q,"eventType":"user.authentication.sso","legacyEventType":"app.auth.sso",
		"actor":{"id":"00u1","type":"User","alternateId":"ana@northwind.example","displayName":"Ana"},
		"client":{"ipAddress":"81.2.92.108","userAgent":{"rawUserAgent":"Mozilla/5.0"},"zone":"null"},
		"outcome":{"result":"SUCCESS","reason":null},
		"target":[{"id":"0oa%s","type":"AppInstance","alternateId":%q,"displayName":%q}]}`, uuid, published, app, app, app)
}

func entraSignIn(id, created, app string) string {
	return fmt.Sprintf(`{"id":%q,"createdDateTime":%q,"userPrincipalName":"ana@northwind.example","userId":"b25ad4d8",
		"appId":"c44b4083-%s","appDisplayName":%q,"resourceDisplayName":"Microsoft Graph","ipAddress":"1.128.6.102",
		"clientAppUsed":"Browser","status":{"errorCode":0,"failureReason":"Other."},"deviceDetail":{"browser":"Edge"}}`, id, created, app, app)
}

func googleActivity(t, qualifier, app string) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":%q,"applicationName":"token","customerId":"C03az79cb"},
		"actor":{"callerType":"USER","email":"ana@northwind.example","profileId":"7935"},"ipAddress":"66.90.96.41",
		"events":[{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":"%s.apps.googleusercontent.com"},
		{"name":"app_name","value":%q},{"name":"client_type","value":"WEB"},{"name":"scope","multiValue":["openid"]}]}]}`, t, qualifier, app, app)
}

func arr(items ...string) string { return "[" + strings.Join(items, ",") + "]" }

// recorder keeps the requests a test server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) add(req *http.Request) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return len(r.reqs)
}

func (r *recorder) all() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) httpOpts() discovery.PullHTTP {
	return discovery.PullHTTP{Sleep: s.sleep, Backoff: time.Millisecond}
}

type pullEnv struct {
	d  *db.DB
	st *discovery.Store
}

func newPullEnv(t *testing.T) pullEnv {
	d := testutil.SQLite(t)
	return pullEnv{d: d, st: discovery.NewStore(d)}
}

func (e pullEnv) source(t *testing.T, kind, baseURL string) discovery.Source {
	t.Helper()
	src, err := e.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: kind, Name: kind + " test", BaseURL: baseURL, Secret: "tok-123"})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (e pullEnv) reload(t *testing.T, id int64) discovery.Source {
	t.Helper()
	src, err := e.st.Source(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (e pullEnv) events(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.d.Get(&n, "SELECT COUNT(*) FROM usage_events"); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e pullEnv) pull(t *testing.T, id int64, p discovery.Puller) (discovery.PullResult, error) {
	t.Helper()
	return e.st.PullSource(context.Background(), audit.System, e.reload(t, id), p)
}

// oktaServer serves three pages of two events, then empty pages that always link a next page
// (as polling does). fail, if set, may answer a request instead.
func oktaServer(t *testing.T, rec *recorder, fail func(n int, r *http.Request, w http.ResponseWriter) bool) *httptest.Server {
	pages := map[string]string{
		"":   arr(oktaEvent("u1", "2024-03-06T07:00:00.000Z", "Lucidchart"), oktaEvent("u2", "2024-03-06T07:01:00.000Z", "Slack")),
		"p2": arr(oktaEvent("u3", "2024-03-06T07:02:00.000Z", "Zoom"), oktaEvent("u4", "2024-03-06T07:03:00.000Z", "Slack")),
		"p3": arr(oktaEvent("u5", "2024-03-06T07:04:00.000Z", "Miro"), oktaEvent("u4", "2024-03-06T07:03:00.000Z", "Slack")),
	}
	nextOf := map[string]string{"": "p2", "p2": "p3", "p3": "p4", "p4": "p4"}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rec.add(r)
		if r.URL.Path != "/api/v1/logs" || r.Header.Get("Authorization") != "SSWS tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}`))
			return
		}
		if fail != nil && fail(n, r, w) {
			return
		}
		after := r.URL.Query().Get("after")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Link", fmt.Sprintf(`<%s/api/v1/logs?limit=2>; rel="self"`, srv.URL))
		next := nextOf[after]
		if next == "" {
			next = after
		}
		w.Header().Add("Link", fmt.Sprintf(`<%s/api/v1/logs?after=%s&limit=2>; rel="next"`, srv.URL, next))
		w.Header().Set("X-Rate-Limit-Limit", "120")
		w.Header().Set("X-Rate-Limit-Remaining", "119")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
		body, ok := pages[after]
		if !ok {
			body = "[]"
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOktaPullPagesStopsOnEmptyPageAndResumes(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	srv := oktaServer(t, rec, nil)
	src := env.source(t, discovery.FormatOkta, srv.URL)
	var sl sleeps
	p := &discovery.OktaPuller{PullHTTP: sl.httpOpts(), Limit: 2}

	res, err := env.pull(t, src.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 3 || res.New != 5 || res.Duplicate != 1 || env.events(t) != 5 {
		t.Fatalf("result %+v, %d events; want 3 pages, 5 new, 1 duplicate", res, env.events(t))
	}
	reqs := rec.all()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (3 pages and the empty one)", len(reqs))
	}
	if q := reqs[0].URL.Query(); q.Get("since") == "" || q.Get("limit") != "2" {
		t.Errorf("first request %s: want since and limit=2", reqs[0].URL)
	}
	got := env.reload(t, src.ID)
	if !strings.Contains(got.Cursor, "after=p4") || got.LastError != "" || got.LastRunAt == nil {
		t.Errorf("source after pull: %+v", got)
	}
	var runs int
	if err := env.d.Get(&runs, "SELECT COUNT(*) FROM import_runs WHERE file_name = 'okta page 3 of okta test'"); err != nil || runs != 1 {
		t.Errorf("page runs named like 'okta page 3': %d, %v", runs, err)
	}

	// The second pull starts from the stored next link and finds nothing new.
	res, err = env.pull(t, src.ID, p)
	if err != nil || res.New != 0 || res.Pages != 0 {
		t.Fatalf("second pull: %+v, %v", res, err)
	}
	if reqs := rec.all(); len(reqs) != 5 || reqs[4].URL.Query().Get("after") != "p4" {
		t.Errorf("second pull should request after=p4 once, requests: %d", len(reqs))
	}
	if len(sl.d) != 0 {
		t.Errorf("no waits expected, got %v", sl.d)
	}
}

func TestOktaRateLimitWaitsForReset(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	srv := oktaServer(t, rec, func(n int, _ *http.Request, w http.ResponseWriter) bool {
		if n != 2 {
			return false
		}
		w.Header().Set("X-Rate-Limit-Limit", "120")
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}`))
		return true
	})
	src := env.source(t, discovery.FormatOkta, srv.URL)
	var sl sleeps
	res, err := env.pull(t, src.ID, &discovery.OktaPuller{PullHTTP: sl.httpOpts()})
	if err != nil || res.New != 5 {
		t.Fatalf("pull: %+v, %v", res, err)
	}
	if len(sl.d) != 1 || sl.d[0] < 29*time.Second || sl.d[0] > 32*time.Second {
		t.Errorf("waits %v, want one of about 30 s (until X-Rate-Limit-Reset)", sl.d)
	}
	if reqs := rec.all(); reqs[2].URL.Query().Get("after") != "p2" {
		t.Errorf("the rate-limited request should be retried, got %s", reqs[2].URL)
	}

	// A reset further away than MaxWait fails the pull instead of blocking the worker.
	env2 := newPullEnv(t)
	src2 := env2.source(t, discovery.FormatOkta, srv.URL)
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
	opts := sl.httpOpts()
	opts.MaxWait = 10 * time.Second
	if _, err := env2.pull(t, src2.ID, &discovery.OktaPuller{PullHTTP: opts}); err == nil || !strings.Contains(err.Error(), "E0000047") {
		t.Fatalf("want a rate-limit error, got %v", err)
	}
}

func TestPermanent401IsLastError(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	srv := oktaServer(t, rec, nil)
	src, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "okta", Name: "bad", BaseURL: srv.URL, Secret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	if _, err := env.pull(t, src.ID, &discovery.OktaPuller{PullHTTP: sl.httpOpts()}); err == nil {
		t.Fatal("want an error")
	}
	got := env.reload(t, src.ID)
	if !strings.Contains(got.LastError, "401") || !strings.Contains(got.LastError, "E0000011") || got.LastRunAt == nil || got.Cursor != "" {
		t.Errorf("source after a 401: %+v", got)
	}
	if len(rec.all()) != 1 || len(sl.d) != 0 {
		t.Errorf("a 401 must not be retried: %d requests, waits %v", len(rec.all()), sl.d)
	}
	// The next successful pull clears the error.
	if err := env.st.SetSourceSecret(context.Background(), audit.System, src.ID, "tok-123"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.pull(t, src.ID, &discovery.OktaPuller{PullHTTP: sl.httpOpts()}); err != nil {
		t.Fatal(err)
	}
	if got := env.reload(t, src.ID); got.LastError != "" {
		t.Errorf("last_error not cleared: %q", got.LastError)
	}
}

func TestResumeAfterFailedPage(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	var failing atomic.Bool
	failing.Store(true)
	srv := oktaServer(t, rec, func(_ int, r *http.Request, w http.ResponseWriter) bool {
		if failing.Load() && r.URL.Query().Get("after") == "p2" {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	src := env.source(t, discovery.FormatOkta, srv.URL)
	var sl sleeps
	p := &discovery.OktaPuller{PullHTTP: sl.httpOpts()}
	if _, err := env.pull(t, src.ID, p); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want a 500 error, got %v", err)
	}
	got := env.reload(t, src.ID)
	if !strings.Contains(got.Cursor, "after=p2") || env.events(t) != 2 || got.LastError == "" {
		t.Fatalf("after a failed page 2: cursor %q, %d events, error %q", got.Cursor, env.events(t), got.LastError)
	}
	if len(sl.d) != 3 || sl.d[0] != time.Millisecond || sl.d[2] != 4*time.Millisecond {
		t.Errorf("5xx backoff waits %v, want 1ms, 2ms, 4ms", sl.d)
	}
	failing.Store(false)
	before := len(rec.all())
	res, err := env.pull(t, src.ID, p)
	if err != nil || res.Pages != 2 || res.New != 3 || env.events(t) != 5 {
		t.Fatalf("resumed pull: %+v, %v, %d events", res, err, env.events(t))
	}
	if first := rec.all()[before]; first.URL.Query().Get("after") != "p2" {
		t.Errorf("resume should start at page 2, got %s", first.URL)
	}
}

// entraServer serves sign-ins newest first in pages of two, honouring the createdDateTime
// filter; failPage fails one page with a 500 while it is set.
func entraServer(t *testing.T, rec *recorder, signIns []string, failPage, transient *atomic.Int32) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.URL.Path == "/v1.0/oauth2PermissionGrants" && r.Header.Get("Authorization") == "Bearer tok-123" {
			// The pull reads grants after sign-ins; this tenant has none.
			_, _ = w.Write([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants","value":[]}`))
			return
		}
		if r.URL.Path != "/v1.0/auditLogs/signIns" || r.Header.Get("Authorization") != "Bearer tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`))
			return
		}
		if transient.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		q := r.URL.Query()
		var from time.Time
		if f := q.Get("$filter"); f != "" {
			var err error
			if from, err = time.Parse(time.RFC3339, strings.TrimPrefix(f, "createdDateTime ge ")); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		pageNo, _ := strconv.Atoi(q.Get("page"))
		if int(failPage.Load()) == pageNo {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var match []string
		for _, s := range signIns {
			var v struct {
				CreatedDateTime time.Time `json:"createdDateTime"`
			}
			_ = json.Unmarshal([]byte(s), &v)
			if !v.CreatedDateTime.Before(from) {
				match = append(match, s)
			}
		}
		lo := pageNo * 2
		hi := min(lo+2, len(match))
		out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns", "value": json.RawMessage(arr(match[min(lo, len(match)):hi]...))}
		if hi < len(match) {
			out["@odata.nextLink"] = srv.URL + "/v1.0/auditLogs/signIns?" + url.Values{"$filter": {q.Get("$filter")}, "page": {strconv.Itoa(pageNo + 1)}, "$skiptoken": {"x" + strconv.Itoa(pageNo+1)}}.Encode()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var entraSignIns = []string{ // newest first, as Graph returns them
	entraSignIn("e6", "2024-03-04T09:00:00.1234567Z", "Salesforce"),
	entraSignIn("e5", "2024-03-04T08:50:00.0000000Z", "Slack"),
	entraSignIn("e4", "2024-03-04T08:40:00.0000000Z", "Zoom"),
	entraSignIn("e3", "2024-03-04T08:30:00.0000000Z", "Slack"),
	entraSignIn("e2", "2024-03-04T08:20:00.0000000Z", "Miro"),
	entraSignIn("e1", "2024-03-04T08:10:00.0000000Z", "Slack"),
}

func TestEntraPullCursorAdvancesAndResumes(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	var failPage, transient atomic.Int32
	failPage.Store(1)
	transient.Store(1)
	srv := entraServer(t, rec, entraSignIns, &failPage, &transient)
	src, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "entra", Name: "tenant", BaseURL: srv.URL + "/", Secret: "tok-123"})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts()}
	p.Now = func() time.Time { return time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC) }

	// 503 (Retry-After: 2) then success on page 0; page 1 fails for good.
	if _, err := env.pull(t, src.ID, p); err == nil {
		t.Fatal("want the page 2 failure")
	}
	if len(sl.d) == 0 || sl.d[0] != 2*time.Second {
		t.Errorf("503 wait %v, want Retry-After's 2 s first", sl.d)
	}
	if f := rec.all()[0].URL.Query().Get("$filter"); f != "createdDateTime ge 2024-03-03T11:50:00Z" {
		t.Errorf("first window %q, want the last 24 h less the overlap", f)
	}
	got := env.reload(t, src.ID)
	if env.events(t) != 2 || !strings.Contains(got.Cursor, `"next"`) || !strings.Contains(got.Cursor, "page=1") {
		t.Fatalf("after page 2 failed: %d events, cursor %q", env.events(t), got.Cursor)
	}

	failPage.Store(-1)
	before := len(rec.all())
	res, err := env.pull(t, src.ID, p)
	if err != nil || res.Pages != 2 || res.New != 4 || env.events(t) != 6 {
		t.Fatalf("resumed pull: %+v, %v, %d events", res, err, env.events(t))
	}
	if q := rec.all()[before].URL.Query(); q.Get("page") != "1" {
		t.Errorf("resume should fetch page 2 first, got %v", q)
	}
	got = env.reload(t, src.ID)
	if got.Cursor != "2024-03-04T09:00:00.1234567Z" {
		t.Fatalf("cursor %q, want the newest createdDateTime", got.Cursor)
	}

	// The next pull asks from the cursor (less the overlap) and adds nothing.
	before = len(rec.all())
	res, err = env.pull(t, src.ID, p)
	if err != nil || res.New != 0 || env.events(t) != 6 {
		t.Fatalf("third pull: %+v, %v", res, err)
	}
	if f := rec.all()[before].URL.Query().Get("$filter"); f != "createdDateTime ge 2024-03-04T08:50:00Z" {
		t.Errorf("window %q, want createdDateTime ge cursor − 10 min", f)
	}
}

func TestGooglePullOverlapImportsOnce(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	token := [][]string{
		{googleActivity("2024-03-07T08:00:00.000Z", "-327807717016478484", "Miro"), googleActivity("2024-03-07T07:50:00.000Z", "11", "Notion")},
		{googleActivity("2024-03-07T07:40:00.000Z", "12", "Miro"), googleActivity("2024-03-07T07:30:00.000Z", "13", "Canva")},
		{googleActivity("2024-03-07T07:20:00.000Z", "14", "Miro")},
	}
	saml := `{"kind":"admin#reports#activity","id":{"time":"2024-03-07T08:05:00.000Z","uniqueQualifier":"-36855017361151635","applicationName":"saml","customerId":"C03az79cb"},
		"actor":{"callerType":"USER","email":"olga@northwind.example"},"ipAddress":"81.2.3.161",
		"events":[{"type":"login","name":"login_success","parameters":[{"name":"application_name","value":"Zoom SAML"},{"name":"initiated_by","value":"sp"}]}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		out := map[string]any{"kind": "admin#reports#activities", "etag": `"e1"`}
		switch r.URL.Path {
		case "/admin/reports/v1/activity/users/all/applications/token":
			// The server ignores startTime, so every pull replays the whole (overlapping) window.
			i := map[string]int{"": 0, "t1": 1, "t2": 2}[r.URL.Query().Get("pageToken")]
			out["items"] = json.RawMessage(arr(token[i]...))
			if i < 2 {
				out["nextPageToken"] = fmt.Sprintf("t%d", i+1)
			}
		case "/admin/reports/v1/activity/users/all/applications/saml":
			out["items"] = json.RawMessage(arr(saml))
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	src := env.source(t, discovery.FormatGoogle, srv.URL)
	var sl sleeps
	p := &discovery.GooglePuller{PullHTTP: sl.httpOpts()}
	p.Now = func() time.Time { return time.Date(2024, 3, 7, 12, 0, 0, 0, time.UTC) }
	res, err := env.pull(t, src.ID, p)
	if err != nil || res.Pages != 4 || res.New != 6 || env.events(t) != 6 {
		t.Fatalf("first pull: %+v, %v, %d events", res, err, env.events(t))
	}
	got := env.reload(t, src.ID)
	if got.Cursor != "2024-03-07T08:05:00Z" {
		t.Fatalf("cursor %q, want the newest id.time", got.Cursor)
	}
	before := len(rec.all())
	res, err = env.pull(t, src.ID, p)
	if err != nil || res.New != 0 || res.Duplicate != 6 || env.events(t) != 6 {
		t.Fatalf("overlapping pull: %+v, %v, %d events", res, err, env.events(t))
	}
	if st := rec.all()[before].URL.Query().Get("startTime"); st != "2024-03-07T07:55:00.000Z" {
		t.Errorf("startTime %q, want the cursor less 10 minutes", st)
	}
}

func TestSourcesKeepSecretsAndValidate(t *testing.T) {
	env := newPullEnv(t)
	ctx := context.Background()
	for _, bad := range []discovery.Source{
		{Kind: "okta", Name: "a", BaseURL: "http://acme.okta.com", Secret: "x"},
		{Kind: "okta", Name: "a", BaseURL: "ftp://acme.okta.com", Secret: "x"},
		{Kind: "auth0", Name: "a", BaseURL: "https://acme.auth0.com", Secret: "x"},
		{Kind: "okta", Name: "", BaseURL: "https://acme.okta.com", Secret: "x"},
		{Kind: "okta", Name: "a", BaseURL: "https://acme.okta.com", Secret: ""},
	} {
		if _, err := env.st.CreateSource(ctx, audit.System, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	src, err := env.st.CreateSource(ctx, audit.System, discovery.Source{Kind: "okta", Name: "corp", BaseURL: "https://acme.okta.com/", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.CreateSource(ctx, audit.System, discovery.Source{Kind: "entra", Name: "corp", BaseURL: "https://graph.microsoft.com", Secret: "x"}); !errors.Is(err, discovery.ErrSourceExists) {
		t.Errorf("duplicate name: %v", err)
	}
	list, err := env.st.Sources(ctx)
	if err != nil || len(list) != 1 || list[0].Secret != "" || list[0].BaseURL != "https://acme.okta.com" || !list[0].Enabled {
		t.Fatalf("list %+v, %v", list, err)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), "s3cret") || strings.Contains(string(raw), "secret") {
		t.Errorf("listing leaks the secret: %s", raw)
	}
	if err := env.st.SetSourceEnabled(ctx, audit.System, src.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := env.reload(t, src.ID); got.Enabled {
		t.Error("still enabled")
	}
	if err := env.st.DeleteSource(ctx, audit.System, src.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.Source(ctx, src.ID); err != discovery.ErrUnknownSource {
		t.Errorf("deleted source: %v", err)
	}
}

func TestPullWorkerPullsEnabledSources(t *testing.T) {
	env := newPullEnv(t)
	rec := &recorder{}
	srv := oktaServer(t, rec, nil)
	on := env.source(t, discovery.FormatOkta, srv.URL)
	off, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "okta", Name: "off", BaseURL: srv.URL, Secret: "tok-123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.st.SetSourceEnabled(context.Background(), audit.System, off.ID, false); err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	w := &discovery.PullWorker{Store: env.st, Pullers: map[string]discovery.Puller{"okta": &discovery.OktaPuller{PullHTTP: sl.httpOpts()}}}
	if err := w.Work(context.Background(), &river.Job[discovery.PullArgs]{}); err != nil {
		t.Fatal(err)
	}
	if env.events(t) != 5 || env.reload(t, on.ID).LastRunAt == nil || env.reload(t, off.ID).LastRunAt != nil {
		t.Errorf("%d events; only the enabled source should be pulled", env.events(t))
	}
	if discovery.PullPeriodic() == nil {
		t.Error("no periodic job")
	}
}

func TestLoadSourcesFile(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	path := filepath.Join(t.TempDir(), "sources.json")
	spec := `[{"kind":"okta","name":"corp","base_url":"https://corp.okta.com","secret_env":"OKTA_TOKEN"}]`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OKTA_TOKEN": "tok"}
	n, err := st.LoadSourcesFile(context.Background(), path, func(k string) string { return env[k] })
	if err != nil || n != 1 {
		t.Fatalf("first load: %d, %v", n, err)
	}
	if n, err := st.LoadSourcesFile(context.Background(), path, func(k string) string { return env[k] }); err != nil || n != 0 {
		t.Errorf("second load added %d (%v)", n, err)
	}
	_ = os.WriteFile(path, []byte(`[{"kind":"entra","name":"graph","base_url":"https://graph.microsoft.com","secret_env":"MISSING"}]`), 0o600)
	if _, err := st.LoadSourcesFile(context.Background(), path, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "secret_env") {
		t.Errorf("missing token: %v", err)
	}
}
