package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

// The directory servers below answer in the vendors' documented shapes (Okta Groups API,
// Microsoft Graph groups and users, Admin SDK Directory API); the records are our own. Each
// server's state can change between pulls, and each answers its first request of a listing
// with a 429 and Retry-After once.

// dirState is who is in which group, per group name, with each person's profile.
type dirState struct {
	mu      sync.Mutex
	groups  map[string][]string // group name → member e-mails, in order
	depts   map[string]string   // e-mail → department
	manager map[string]string   // e-mail → manager (Okta: an id; Google: an e-mail)
	limited map[string]bool     // paths already answered with a 429
	fail    int                 // answer every request with this status when set
}

func newDirState() *dirState {
	return &dirState{
		groups: map[string][]string{
			"Engineering": {"ann@northwind.example", "bob@northwind.example", "cy@northwind.example"},
			"Sales EMEA":  {"bob@northwind.example"},
		},
		depts:   map[string]string{"ann@northwind.example": "", "bob@northwind.example": "Sales", "cy@northwind.example": "Engineering"},
		manager: map[string]string{},
		limited: map[string]bool{},
	}
}

func (s *dirState) groupNames() []string {
	var out []string
	for g := range s.groups {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// rateLimitOnce answers the first request to a path with 429 and Retry-After: 7.
func (s *dirState) rateLimitOnce(w http.ResponseWriter, r *http.Request) bool {
	if s.fail != 0 {
		w.WriteHeader(s.fail)
		fmt.Fprint(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
		return true
	}
	if !s.limited[r.URL.Path] {
		s.limited[r.URL.Path] = true
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`)
		return true
	}
	return false
}

// page2 splits items into pages of two: the page asked for (from "0") and the next one's index.
func page2[T any](items []T, at string) ([]T, string) {
	i := 0
	fmt.Sscan(at, &i)
	end := min(i+2, len(items))
	if i > len(items) {
		i = len(items)
	}
	next := ""
	if end < len(items) {
		next = fmt.Sprint(end)
	}
	return items[i:end], next
}

func groupID(name string) string { return "00g" + strings.ReplaceAll(strings.ToLower(name), " ", "-") }

func oktaDirectoryServer(t *testing.T, st *dirState) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if r.Header.Get("Authorization") != "SSWS tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if st.rateLimitOnce(w, r) {
			return
		}
		link := func(path, next string) {
			if next != "" {
				w.Header().Set("Link", fmt.Sprintf(`<%s%s?limit=200&after=%s>; rel="next"`, srv.URL, path, next))
			}
			w.Header().Add("Link", fmt.Sprintf(`<%s%s?limit=200>; rel="self"`, srv.URL, path))
		}
		after := r.URL.Query().Get("after")
		if r.URL.Path == "/api/v1/groups" {
			var out []map[string]any
			names, next := page2(st.groupNames(), after)
			for _, g := range names {
				out = append(out, map[string]any{"id": groupID(g), "type": "OKTA_GROUP", "profile": map[string]any{"name": g, "description": ""}})
			}
			link(r.URL.Path, next)
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		for _, g := range st.groupNames() {
			if r.URL.Path != "/api/v1/groups/"+groupID(g)+"/users" {
				continue
			}
			members, next := page2(st.groups[g], after)
			out := []map[string]any{}
			for _, m := range members {
				login := m
				first, _, _ := strings.Cut(m, "@")
				out = append(out, map[string]any{"id": "00u" + first, "status": "ACTIVE", "profile": map[string]any{
					"login": login, "email": login, "firstName": strings.ToUpper(first[:1]) + first[1:], "lastName": "Lee",
					"department": st.depts[m], "managerId": st.manager[m]}})
			}
			link(r.URL.Path, next)
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errorCode":"E0000007","errorSummary":"Not found"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func entraDirectoryServer(t *testing.T, st *dirState) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.rateLimitOnce(w, r) {
			return
		}
		skip := r.URL.Query().Get("$skiptoken")
		user := func(m string) map[string]any {
			first, _, _ := strings.Cut(m, "@")
			return map[string]any{"@odata.type": "#microsoft.graph.user", "id": "id-" + first, "displayName": first + " Lee",
				"userPrincipalName": strings.ToUpper(first[:1]) + first[1:] + "@northwind.example", "mail": nil, "department": st.depts[m]}
		}
		respond := func(items []any, next string) {
			body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": items}
			if next != "" {
				body["@odata.nextLink"] = srv.URL + r.URL.Path + "?$skiptoken=" + next
			}
			_ = json.NewEncoder(w).Encode(body)
		}
		switch {
		case r.URL.Path == "/v1.0/users":
			if r.URL.Query().Get("$select") == "" && skip == "" {
				t.Errorf("users asked without $select: %s", r.URL)
			}
			var all []any
			for _, m := range slices.Sorted(mapsKeys(st.depts)) {
				all = append(all, user(m))
			}
			items, next := page2(all, skip)
			respond(items, next)
		case r.URL.Path == "/v1.0/groups":
			var all []any
			for _, g := range st.groupNames() {
				all = append(all, map[string]any{"id": groupID(g), "displayName": g})
			}
			items, next := page2(all, skip)
			respond(items, next)
		case strings.HasSuffix(r.URL.Path, "/transitiveMembers"):
			for _, g := range st.groupNames() {
				if r.URL.Path != "/v1.0/groups/"+groupID(g)+"/transitiveMembers" {
					continue
				}
				// A device and a nested group are members too; only users count.
				all := []any{map[string]any{"@odata.type": "#microsoft.graph.device", "id": "dev-1", "displayName": "Kiosk"},
					map[string]any{"@odata.type": "#microsoft.graph.group", "id": "grp-nested", "displayName": "Nested"}}
				for _, m := range st.groups[g] {
					all = append(all, user(m))
				}
				items, next := page2(all, skip)
				respond(items, next)
				return
			}
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func googleDirectoryServer(t *testing.T, st *dirState) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.rateLimitOnce(w, r) {
			return
		}
		tok := r.URL.Query().Get("pageToken")
		respond := func(field string, items []any, next string) {
			body := map[string]any{"kind": "admin#directory#" + field, "etag": `"e1"`, field: items}
			if next != "" {
				body["nextPageToken"] = next
			}
			_ = json.NewEncoder(w).Encode(body)
		}
		switch {
		case r.URL.Path == "/admin/directory/v1/users":
			if r.URL.Query().Get("customer") != "my_customer" {
				t.Errorf("users without customer: %s", r.URL)
			}
			var all []any
			for _, m := range slices.Sorted(mapsKeys(st.depts)) {
				first, _, _ := strings.Cut(m, "@")
				u := map[string]any{"kind": "admin#directory#user", "id": "1" + first, "primaryEmail": m,
					"name": map[string]any{"givenName": first, "familyName": "Lee", "fullName": first + " Lee"}, "orgUnitPath": "/"}
				if d := st.depts[m]; d != "" {
					u["organizations"] = []any{map[string]any{"name": "Northwind", "primary": false, "department": "Old " + d},
						map[string]any{"name": "Northwind", "primary": true, "department": d, "type": "work"}}
				}
				if mg := st.manager[m]; mg != "" {
					u["relations"] = []any{map[string]any{"value": mg, "type": "manager"}}
				}
				all = append(all, u)
			}
			items, next := page2(all, tok)
			respond("users", items, next)
		case r.URL.Path == "/admin/directory/v1/groups":
			var all []any
			for _, g := range st.groupNames() {
				all = append(all, map[string]any{"kind": "admin#directory#group", "id": groupID(g), "name": g,
					"email": strings.ReplaceAll(strings.ToLower(g), " ", "-") + "@northwind.example", "directMembersCount": "2"})
			}
			items, next := page2(all, tok)
			respond("groups", items, next)
		case strings.HasSuffix(r.URL.Path, "/members"):
			if r.URL.Query().Get("includeDerivedMembership") != "true" {
				t.Errorf("members without includeDerivedMembership: %s", r.URL)
			}
			for _, g := range st.groupNames() {
				if r.URL.Path != "/admin/directory/v1/groups/"+groupID(g)+"/members" {
					continue
				}
				all := []any{map[string]any{"kind": "admin#directory#member", "id": "g9", "email": "nested@northwind.example", "role": "MEMBER", "type": "GROUP", "status": "ACTIVE"}}
				for _, m := range st.groups[g] {
					all = append(all, map[string]any{"kind": "admin#directory#member", "id": "1" + m, "email": m, "role": "MEMBER", "type": "USER", "status": "ACTIVE"})
				}
				items, next := page2(all, tok)
				respond("members", items, next)
				return
			}
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDirectoryPulls(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := b.Open(t)
			st := discovery.NewStore(d)
			now := testNow()
			st.Now = func() time.Time { return now }
			var waits sleeps
			h := waits.httpOpts()

			// The CSV upload knows Ann's department and a group of hers, and Zed, whom no IdP lists.
			csv := "email,department,groups\nann@northwind.example,Support,csv-team\nzed@northwind.example,Legal,counsel\n"
			if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader(csv)); err != nil {
				t.Fatal(err)
			}
			groupsOf := func(email string) []string {
				t.Helper()
				p, err := st.PersonByEmail(ctx, email)
				if err != nil {
					t.Fatalf("%s: %v", email, err)
				}
				return p.Groups
			}
			person := func(email string) discovery.Person {
				t.Helper()
				p, err := st.PersonByEmail(ctx, email)
				if err != nil {
					t.Fatalf("%s: %v", email, err)
				}
				return p
			}

			for _, kind := range []string{"okta", "entra", "google"} {
				t.Run(kind, func(t *testing.T) {
					state := newDirState()
					state.manager["bob@northwind.example"] = map[string]string{"okta": "00ucy", "google": "cy@northwind.example"}[kind]
					var (
						srv *httptest.Server
						p   discovery.DirectoryPuller
					)
					switch kind {
					case "okta":
						srv, p = oktaDirectoryServer(t, state), &discovery.OktaPuller{PullHTTP: h}
					case "entra":
						srv, p = entraDirectoryServer(t, state), &discovery.EntraPuller{PullHTTP: h}
					default:
						srv, p = googleDirectoryServer(t, state), &discovery.GooglePuller{PullHTTP: h}
					}
					src, err := st.CreateSource(ctx, audit.System, discovery.Source{Kind: kind, Name: kind + " directory", BaseURL: srv.URL, Secret: "tok-123"})
					if err != nil {
						t.Fatal(err)
					}
					before := len(waits.d)
					res, err := st.PullDirectory(ctx, audit.System, src, p)
					if err != nil {
						t.Fatal(err)
					}
					if res.People != 3 {
						t.Errorf("result = %+v, want 3 people", res)
					}
					// Every listing was rate limited once and waited the 7 s it was told.
					waited := waits.d[before:]
					if len(waited) == 0 || slices.ContainsFunc(waited, func(d time.Duration) bool { return d != 7*time.Second }) {
						t.Errorf("waits = %v, want 7 s each", waited)
					}
					g := func(name string) []string {
						if kind == "google" { // a Google group counts under its name and its address
							return []string{name, strings.ReplaceAll(strings.ToLower(name), " ", "-") + "@northwind.example"}
						}
						return []string{name}
					}
					bob := person("bob@northwind.example")
					for _, want := range slices.Concat(g("Engineering"), g("Sales EMEA")) {
						if !slices.Contains(bob.Groups, want) {
							t.Errorf("bob's groups = %v, want %q", bob.Groups, want)
						}
					}
					if bob.Department != "Sales" {
						t.Errorf("bob's department = %q", bob.Department)
					}
					if kind != "entra" && bob.Manager != "cy@northwind.example" {
						t.Errorf("bob's manager = %q", bob.Manager)
					}
					// Ann: the directory gives no department, so the CSV's stays, and so does her CSV group.
					ann := person("ann@northwind.example")
					if ann.Department != "Support" || !slices.Contains(ann.Groups, "csv-team") || !slices.Contains(ann.Groups, "Engineering") {
						t.Errorf("ann = %+v", ann)
					}
					if slices.Contains(ann.Groups, "Nested") || slices.Contains(ann.Groups, "nested@northwind.example") {
						t.Errorf("a nested group counted as a person's group: %v", ann.Groups)
					}
					if z := person("zed@northwind.example"); z.Department != "Legal" || !slices.Equal(z.Groups, []string{"counsel"}) {
						t.Errorf("zed, whom no directory lists, changed: %+v", z)
					}
					got, _ := st.Source(ctx, src.ID)
					if got.DirectoryPeople != 3 || got.DirectorySyncedAt == nil || got.DirectoryError != "" {
						t.Errorf("source after the pull = %+v", got)
					}

					// Bob leaves Sales EMEA, Cy leaves the org; the next pull says so.
					state.mu.Lock()
					state.groups["Sales EMEA"] = nil
					state.groups["Engineering"] = []string{"ann@northwind.example", "bob@northwind.example"}
					delete(state.depts, "cy@northwind.example")
					state.depts["bob@northwind.example"] = "Marketing"
					state.mu.Unlock()
					if _, err := st.PullDirectory(ctx, audit.System, src, p); err != nil {
						t.Fatal(err)
					}
					bob = person("bob@northwind.example")
					for _, gone := range g("Sales EMEA") {
						if slices.Contains(bob.Groups, gone) {
							t.Errorf("bob left %q but still has it: %v", gone, bob.Groups)
						}
					}
					if bob.Department != "Marketing" {
						t.Errorf("bob moved to Marketing: %+v", bob)
					}
					// Cy is in no directory pulled so far any more (each earlier source's last pull dropped him too).
					if cy := groupsOf("cy@northwind.example"); len(cy) != 0 {
						t.Errorf("cy left the org but keeps %v", cy)
					}

					// A refused request changes nothing and is recorded on the source.
					state.mu.Lock()
					state.fail = http.StatusForbidden
					state.mu.Unlock()
					if _, err := st.PullDirectory(ctx, audit.System, src, p); err == nil || !strings.Contains(err.Error(), "403") {
						t.Errorf("refused pull: %v", err)
					}
					got, _ = st.Source(ctx, src.ID)
					if !strings.Contains(got.DirectoryError, "403") || got.DirectoryPeople != 2 {
						t.Errorf("source after a refused pull = %+v", got)
					}
					if !slices.Contains(groupsOf("bob@northwind.example"), "Engineering") {
						t.Error("a refused pull removed groups")
					}
				})
			}

			// Each source replaced only its own groups: Bob is in Engineering three times over.
			var n int
			if err := d.Get(&n, d.Rebind("SELECT COUNT(*) FROM person_groups WHERE email = ? AND group_name = 'Engineering'"), "bob@northwind.example"); err != nil || n != 3 {
				t.Errorf("bob is in Engineering from %d sources, want 3 (%v)", n, err)
			}
			// Deleting a source forgets the groups its directory gave.
			srcs, _ := st.Sources(ctx)
			if err := st.DeleteSource(ctx, audit.System, srcs[0].ID); err != nil {
				t.Fatal(err)
			}
			if err := d.Get(&n, d.Rebind("SELECT COUNT(*) FROM person_groups WHERE source = ?"), discovery.DirectorySource(srcs[0])); err != nil || n != 0 {
				t.Errorf("groups of a deleted source: %d, %v", n, err)
			}
			if !slices.Contains(groupsOf("ann@northwind.example"), "csv-team") {
				t.Error("deleting a source removed CSV groups")
			}
		})
	}
}

// TestSyncDirectory: an empty directory changes nothing; a person listed once per group keeps
// every group.
func TestSyncDirectory(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := b.Open(t)
			st := discovery.NewStore(d)
			if _, err := st.SyncDirectory(ctx, audit.System, "okta:1", []discovery.Person{{Email: "ann@northwind.example", Groups: []string{"eng"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SyncDirectory(ctx, audit.System, "okta:1", []discovery.Person{{Email: "not an address"}}); !errors.Is(err, discovery.ErrEmptyDirectory) {
				t.Errorf("empty directory: %v", err)
			}
			if p, _ := st.PersonByEmail(ctx, "ann@northwind.example"); !slices.Equal(p.Groups, []string{"eng"}) {
				t.Errorf("an empty directory changed ann: %+v", p)
			}
			// The same person listed twice (once per group) keeps both groups.
			res, err := st.SyncDirectory(ctx, audit.System, "okta:1", []discovery.Person{
				{Email: "Ann@northwind.example", Groups: []string{"eng"}, Department: "Engineering"},
				{Email: "ann@northwind.example", Groups: []string{"oncall", "eng"}},
			})
			if err != nil || res.People != 1 || res.Memberships != 2 {
				t.Fatalf("sync = %+v, %v", res, err)
			}
			if p, _ := st.PersonByEmail(ctx, "ann@northwind.example"); !slices.Equal(p.Groups, []string{"eng", "oncall"}) || p.Department != "Engineering" {
				t.Errorf("ann = %+v", p)
			}
		})
	}
}
