package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"
)

// sampleData holds a realistic view model for the pages this package defines. Pages whose
// view models live in other packages (the portal's) are rendered with a nil Data, which their
// templates must accept ({{with .Data}}), so the layout and CSP checks still cover them; their
// content is tested where their view models are.
var sampleData = map[string]any{
	"home": nil,
	"error": ErrorView{
		Status:    http.StatusNotFound,
		Title:     "We can't find that page",
		Message:   "The link may be old, or the app may have been renamed.",
		RetryHref: "/apps",
	},
}

func newTestRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

func signedIn() *UserView {
	return &UserView{Name: "Ada Lovelace", Email: "ada@example.com", Roles: []string{"employee", "committee"}}
}

func fullNav() []NavItem {
	return []NavItem{
		{Label: "Catalogue", Href: "/apps", Active: true},
		{Label: "My requests", Href: "/requests"},
		{Label: "Voting", Href: "/voting"},
		{Label: "Discovery", Href: "/discovery"},
		{Label: "Admin", Href: "/admin"},
	}
}

// variants are the layouts every page is rendered in: signed out, signed in, and signed in
// with everything the layout can show switched on.
func variants(data any) map[string]Page {
	return map[string]Page{
		"signed out": {Title: "Test", Path: "/apps?q=figma", Data: data, RequestID: "req-1"},
		"signed in":  {Title: "Test", User: signedIn(), Nav: fullNav(), Path: "/", Data: data, RequestID: "req-2"},
		"everything": {
			Title: "Test", User: signedIn(), Nav: fullNav(), DevMode: true, Path: "/", Data: data,
			RequestID: "req-3",
			Flashes: []Flash{
				{Kind: "success", Message: "Request sent."},
				{Kind: "info", Message: "Voting closes on Friday."},
				{Kind: "warning", Message: "Your pledge exceeds the estimate."},
				{Kind: "error", Message: "The import failed."},
			},
		},
	}
}

func render(t *testing.T, r *Renderer, page string, p Page) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, page, p); err != nil {
		t.Fatalf("Render(%q): %v", page, err)
	}
	return buf.String()
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse rendered HTML: %v", err)
	}
	return doc
}

// walk calls fn for every element under n.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func findAll(doc *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if match(n) {
			out = append(out, n)
		}
	})
	return out
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func TestHas(t *testing.T) {
	r := newTestRenderer(t)
	for _, page := range []string{"home", "error"} {
		if !r.Has(page) {
			t.Errorf("Has(%q) = false", page)
		}
	}
	if r.Has("nope") {
		t.Error(`Has("nope") = true`)
	}
}

func TestAllPagesRender(t *testing.T) {
	r := newTestRenderer(t)
	for _, page := range r.Pages() {
		for name, p := range variants(sampleData[page]) {
			t.Run(page+"/"+name, func(t *testing.T) {
				out := render(t, r, page, p)
				doc := parseHTML(t, out)

				if !strings.HasPrefix(out, "<!doctype html>") {
					t.Errorf("output does not start with a doctype: %.40q", out)
				}
				htmlEl := findAll(doc, byTag("html"))[0]
				if lang, _ := attr(htmlEl, "lang"); lang != "en" {
					t.Errorf(`<html lang> = %q, want "en"`, lang)
				}
				if got := text(findAll(doc, byTag("title"))[0]); got != "Test · Paved" {
					t.Errorf("title = %q", got)
				}
				if n := len(findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return n.Data == "main" && v == "main" })); n != 1 {
					t.Errorf(`found %d <main id="main">, want 1`, n)
				}
				for _, tag := range []string{"header", "footer"} {
					if len(findAll(doc, byTag(tag))) == 0 {
						t.Errorf("no <%s>", tag)
					}
				}
				if _, ok := sampleData[page]; ok && len(findAll(doc, byTag("h1"))) != 1 {
					t.Errorf("want exactly one <h1>")
				}
				skip := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "href"); return n.Data == "a" && v == "#main" })
				if len(skip) != 1 {
					t.Errorf("want one skip link to #main, found %d", len(skip))
				}

				checkAccount(t, doc, p)
				checkNav(t, doc, p)
				checkFlashes(t, doc, p)

				banner := strings.Contains(out, `class="dev-banner"`)
				if banner != p.DevMode {
					t.Errorf("dev banner shown = %v, DevMode = %v", banner, p.DevMode)
				}
			})
		}
	}
}

func checkAccount(t *testing.T, doc *html.Node, p Page) {
	t.Helper()
	logout := findAll(doc, func(n *html.Node) bool {
		a, _ := attr(n, "action")
		m, _ := attr(n, "method")
		return n.Data == "form" && a == "/auth/logout" && m == "post"
	})
	account := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "href"); return n.Data == "a" && v == "/account" })
	signIn := findAll(doc, func(n *html.Node) bool {
		v, _ := attr(n, "href")
		return n.Data == "a" && strings.HasPrefix(v, "/auth/login")
	})
	if p.User != nil {
		if len(logout) != 1 {
			t.Fatalf("signed in: found %d sign-out forms, want 1", len(logout))
		}
		if len(findAll(logout[0], byTag("button"))) != 1 {
			t.Error("sign-out form has no button")
		}
		if len(account) != 1 || !strings.Contains(text(account[0]), p.User.Name) {
			t.Errorf("signed in: want one /account link with the user's name, found %d", len(account))
		}
		if len(signIn) != 0 {
			t.Error("signed in: a sign-in link is shown")
		}
		return
	}
	if len(logout) != 0 || len(account) != 0 {
		t.Error("signed out: a sign-out form or account link is shown")
	}
	if len(signIn) == 0 {
		t.Fatal("signed out: no sign-in link")
	}
	for _, a := range signIn {
		href, _ := attr(a, "href")
		u, err := url.Parse(href)
		if err != nil {
			t.Fatalf("sign-in href %q: %v", href, err)
		}
		if u.Path != "/auth/login" || u.Query().Get("next") != p.Path {
			t.Errorf("sign-in href %q: want /auth/login with next=%q", href, p.Path)
		}
	}
}

func checkNav(t *testing.T, doc *html.Node, p Page) {
	t.Helper()
	navs := findAll(doc, byTag("nav"))
	if len(p.Nav) == 0 {
		if len(navs) != 0 {
			t.Error("an empty Nav still renders a <nav>")
		}
		return
	}
	if len(navs) != 1 {
		t.Fatalf("found %d <nav>, want 1", len(navs))
	}
	links := findAll(navs[0], byTag("a"))
	if len(links) != len(p.Nav) {
		t.Fatalf("nav has %d links, want %d", len(links), len(p.Nav))
	}
	for i, item := range p.Nav {
		href, _ := attr(links[i], "href")
		cur, hasCur := attr(links[i], "aria-current")
		if href != item.Href || text(links[i]) != item.Label {
			t.Errorf("nav link %d = %q %q, want %q %q", i, href, text(links[i]), item.Href, item.Label)
		}
		if item.Active != (hasCur && cur == "page") {
			t.Errorf("nav link %q: aria-current=%q (present %v), Active=%v", item.Label, cur, hasCur, item.Active)
		}
	}
}

func checkFlashes(t *testing.T, doc *html.Node, p Page) {
	t.Helper()
	flashes := findAll(doc, func(n *html.Node) bool {
		c, _ := attr(n, "class")
		return strings.HasPrefix(c, "flash ")
	})
	if len(flashes) != len(p.Flashes) {
		t.Fatalf("found %d flash messages, want %d", len(flashes), len(p.Flashes))
	}
	for i, f := range p.Flashes {
		role, _ := attr(flashes[i], "role")
		if role != f.Role() {
			t.Errorf("flash %q: role %q, want %q", f.Kind, role, f.Role())
		}
		if got := text(flashes[i]); got != f.Label()+": "+f.Message {
			t.Errorf("flash %q reads %q", f.Kind, got)
		}
	}
}

func TestHomeHeadingAndSearch(t *testing.T) {
	r := newTestRenderer(t)
	for name, p := range variants(nil) {
		t.Run(name, func(t *testing.T) {
			doc := parseHTML(t, render(t, r, "home", p))
			h1s := findAll(doc, byTag("h1"))
			if len(h1s) != 1 {
				t.Fatalf("found %d <h1>, want 1", len(h1s))
			}
			// Visitors get what Paved is; people signed in get the search first, then their work.
			want := "Find the apps you can use — and get a yes for the ones you need"
			if p.User != nil {
				want = "Find an app"
			}
			if got := text(h1s[0]); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}

			search := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "type"); return n.Data == "input" && v == "search" })
			if len(search) != 1 {
				t.Fatalf("found %d search inputs, want 1", len(search))
			}
			id, _ := attr(search[0], "id")
			labels := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "for"); return n.Data == "label" && v == id })
			if id == "" || len(labels) != 1 || text(labels[0]) == "" {
				t.Errorf("search input %q has no label", id)
			}

			if p.User != nil {
				if strings.Contains(text(doc), "Sign in with your company account") || strings.Contains(text(doc), "For user committees") {
					t.Error("the marketing panels are shown to someone signed in")
				}
				return
			}
			cards := findAll(doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return n.Data == "article" && c == "card" })
			if len(cards) != 3 {
				t.Errorf("found %d cards, want 3", len(cards))
			}

			cta := strings.Contains(text(doc), "Sign in with your company account")
			if cta != (p.User == nil) {
				t.Errorf("sign-in call to action shown = %v with User = %v", cta, p.User)
			}
			for _, status := range []string{"Approved", "Approved with conditions", "Under review", "Not approved", "Retired"} {
				if !strings.Contains(text(doc), status) {
					t.Errorf("status legend lacks %q", status)
				}
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	r := newTestRenderer(t)
	cases := []struct {
		name      string
		data      any
		wantTexts []string
		wantRetry string
	}{
		{
			name:      "with retry",
			data:      ErrorView{Status: 503, Title: "Search is resting", Message: "Try again in a minute.", RetryHref: "/apps?q=miro"},
			wantTexts: []string{"Error 503", "Search is resting", "Try again in a minute.", "Go home", "req-42"},
			wantRetry: "/apps?q=miro",
		},
		{
			name:      "pointer, no title, no retry",
			data:      &ErrorView{Status: 404},
			wantTexts: []string{"Error 404", "We can't find that page", "Go home", "req-42"},
		},
		{
			name:      "no data",
			data:      nil,
			wantTexts: []string{"Something went wrong", "Go home", "req-42"},
		},
		{
			name:      "unsafe retry URL",
			data:      ErrorView{Status: 500, RetryHref: "javascript:alert(1)"},
			wantTexts: []string{"Something went wrong on our side"},
			wantRetry: "#ZgotmplZ", // html/template's marker for a URL it refused
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := parseHTML(t, render(t, r, "error", Page{Title: "Error", RequestID: "req-42", Data: tc.data}))
			body := text(doc)
			for _, want := range tc.wantTexts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			var retry []string
			for _, a := range findAll(doc, byTag("a")) {
				if text(a) == "Try again" {
					href, _ := attr(a, "href")
					retry = append(retry, href)
				}
			}
			switch {
			case tc.wantRetry == "" && len(retry) != 0:
				t.Errorf("unexpected Try again link %q", retry)
			case tc.wantRetry != "" && (len(retry) != 1 || retry[0] != tc.wantRetry):
				t.Errorf("Try again links = %q, want [%q]", retry, tc.wantRetry)
			}
			home := findAll(doc, func(n *html.Node) bool {
				v, _ := attr(n, "href")
				return n.Data == "a" && v == "/" && text(n) == "Go home"
			})
			if len(home) != 1 {
				t.Errorf("found %d Go home links, want 1", len(home))
			}
		})
	}
}

func TestRenderEscapesUserValues(t *testing.T) {
	r := newTestRenderer(t)
	const evil = `<script>alert("x")</script>`
	p := Page{
		Title:     evil,
		User:      &UserView{Name: evil, Email: evil},
		Nav:       []NavItem{{Label: evil, Href: "javascript:alert(1)", Active: true}},
		Flashes:   []Flash{{Kind: `"><script>`, Message: evil}},
		RequestID: evil,
		Path:      `/apps?q="><script>&next=//evil.example`,
		Data:      ErrorView{Status: 400, Title: evil, Message: evil, RetryHref: `"><script>`},
	}
	for _, page := range []string{"home", "error"} {
		pp := p
		if page == "home" {
			pp.Data = nil // the home page's own view model belongs to the portal
		}
		out := render(t, r, page, pp)
		if strings.Contains(out, evil) || strings.Contains(out, `"><script>`) {
			t.Errorf("%s: user value appears unescaped", page)
		}
		if !strings.Contains(out, "&lt;script&gt;") {
			t.Errorf("%s: escaped user value not found", page)
		}
		if strings.Contains(out, "javascript:") {
			t.Errorf("%s: javascript: URL was not neutralised", page)
		}
		if strings.Count(out, "<script") != 1 {
			t.Errorf("%s: want exactly the htmx <script>, found %d", page, strings.Count(out, "<script"))
		}
	}

	// Signed out, the path goes into the sign-in link as one query value.
	p.User, p.Data = nil, nil
	doc := parseHTML(t, render(t, r, "home", p))
	checkAccount(t, doc, p)
}

// TestCSPSafeMarkup renders every page with everything switched on and checks the markup a
// strict Content-Security-Policy would block: inline scripts, event-handler attributes, style
// attributes and <style> elements.
func TestCSPSafeMarkup(t *testing.T) {
	r := newTestRenderer(t)
	for _, page := range r.Pages() {
		for name, p := range variants(sampleData[page]) {
			doc := parseHTML(t, render(t, r, page, p))
			walk(doc, func(n *html.Node) {
				where := page + "/" + name + ": <" + n.Data + ">"
				if n.Data == "script" {
					if src, ok := attr(n, "src"); !ok || src == "" {
						t.Errorf("%s: inline script", where)
					}
					if _, ok := attr(n, "defer"); !ok {
						t.Errorf("%s: script without defer", where)
					}
				}
				if n.Data == "style" {
					t.Errorf("%s: <style> element", where)
				}
				for _, a := range n.Attr {
					k := strings.ToLower(a.Key)
					if strings.HasPrefix(k, "on") || k == "style" || strings.HasPrefix(k, "hx-on") {
						t.Errorf("%s: attribute %s", where, a.Key)
					}
				}
			})
		}
	}
}

// TestTemplateSourcesCSPSafe checks the template files themselves, which also covers branches
// the rendered variants do not reach.
func TestTemplateSourcesCSPSafe(t *testing.T) {
	inlineScript := regexp.MustCompile(`(?i)<script(\s[^>]*)?>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=`)
	err := fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		s := string(src)
		for _, m := range inlineScript.FindAllString(s, -1) {
			if !strings.Contains(m, "src=") {
				t.Errorf("%s: inline script %q", p, m)
			}
		}
		if m := handler.FindString(s); m != "" {
			t.Errorf("%s: event handler attribute %q", p, m)
		}
		if m := styleAttr.FindString(s); m != "" {
			t.Errorf("%s: style attribute %q", p, m)
		}
		if strings.Contains(strings.ToLower(s), "<style") {
			t.Errorf("%s: <style> element", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRenderUnknownPage(t *testing.T) {
	r := newTestRenderer(t)
	var buf bytes.Buffer
	err := r.Render(&buf, "nope", Page{})
	if !errors.Is(err, ErrUnknownPage) {
		t.Errorf("Render(nope) = %v, want ErrUnknownPage", err)
	}
	if buf.Len() != 0 {
		t.Error("Render(nope) wrote output")
	}
}

func TestRenderFailureWritesNothing(t *testing.T) {
	r := newTestRenderer(t)
	var buf bytes.Buffer
	// The error page needs a Data with ErrorView's fields; a string has none.
	if err := r.Render(&buf, "error", Page{Data: "not a view"}); err == nil {
		t.Fatal("Render with the wrong Data type succeeded")
	}
	if buf.Len() != 0 {
		t.Errorf("a failed Render wrote %d bytes", buf.Len())
	}
}

func TestStaticPath(t *testing.T) {
	r := newTestRenderer(t)
	cases := map[string]*regexp.Regexp{
		"css/app.css":         regexp.MustCompile(`^/static/css/app\.[0-9a-f]{8,12}\.css$`),
		"/css/app.css":        regexp.MustCompile(`^/static/css/app\.[0-9a-f]{8,12}\.css$`),
		"vendor/pico.min.css": regexp.MustCompile(`^/static/vendor/pico\.min\.[0-9a-f]{8,12}\.css$`),
		"vendor/htmx.min.js":  regexp.MustCompile(`^/static/vendor/htmx\.min\.[0-9a-f]{8,12}\.js$`),
		"img/logo.svg":        regexp.MustCompile(`^/static/img/logo\.[0-9a-f]{8,12}\.svg$`),
	}
	for name, want := range cases {
		if got := r.StaticPath(name); !want.MatchString(got) {
			t.Errorf("StaticPath(%q) = %q, want match of %s", name, got, want)
		}
	}
	if got := r.StaticPath("css/missing.css"); got != "" {
		t.Errorf("StaticPath(missing) = %q, want empty", got)
	}

	// The layout links the hashed URLs.
	out := render(t, r, "home", Page{})
	for _, name := range []string{"css/app.css", "vendor/pico.min.css", "vendor/htmx.min.js", "img/logo.svg"} {
		if !strings.Contains(out, `"`+r.StaticPath(name)+`"`) {
			t.Errorf("layout does not reference %s as %s", name, r.StaticPath(name))
		}
	}
}

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestStaticHandlerServesHashedFiles(t *testing.T) {
	r := newTestRenderer(t)
	h := r.StaticHandler()
	cases := []struct{ name, contentType string }{
		{"css/app.css", "text/css; charset=utf-8"},
		{"vendor/pico.min.css", "text/css; charset=utf-8"},
		{"vendor/htmx.min.js", "text/javascript; charset=utf-8"},
		{"img/logo.svg", "image/svg+xml"},
		{"vendor/htmx.LICENSE", "text/plain; charset=utf-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := fs.ReadFile(files, "static/"+tc.name)
			if err != nil {
				t.Fatal(err)
			}
			res := get(t, h, http.MethodGet, r.StaticPath(tc.name), nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if res.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding %q without Accept-Encoding", res.Header.Get("Content-Encoding"))
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body differs from static/%s (%d vs %d bytes)", tc.name, len(body), len(want))
			}

			// A client that sends the ETag back gets 304.
			etag := res.Header.Get("ETag")
			res = get(t, h, http.MethodGet, r.StaticPath(tc.name), http.Header{"If-None-Match": {etag}})
			if etag == "" || res.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %q: status %d, want 304", etag, res.StatusCode)
			}

			// HEAD gets the headers and no body.
			res = get(t, h, http.MethodHead, r.StaticPath(tc.name), nil)
			body, _ = io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || len(body) != 0 {
				t.Errorf("HEAD: status %d, %d body bytes", res.StatusCode, len(body))
			}
		})
	}
}

func TestStaticHandlerGzip(t *testing.T) {
	r := newTestRenderer(t)
	h := r.StaticHandler()
	want, _ := fs.ReadFile(files, "static/vendor/pico.min.css")
	target := r.StaticPath("vendor/pico.min.css")

	res := get(t, h, http.MethodGet, target, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	if res.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary = %q", res.Header.Get("Vary"))
	}
	if res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("Content-Type = %q", res.Header.Get("Content-Type"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gunzipped body differs from the file")
	}

	res = get(t, h, http.MethodGet, target, http.Header{"Accept-Encoding": {"gzip;q=0"}})
	if res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
}

func TestStaticHandlerRejects(t *testing.T) {
	r := newTestRenderer(t)
	h := r.StaticHandler()
	hashed := r.StaticPath("css/app.css")
	stale := regexp.MustCompile(`\.[0-9a-f]+\.css$`).ReplaceAllString(hashed, ".0123456789.css")
	cases := []struct {
		method, target string
		want           int
	}{
		{http.MethodGet, "/static/css/app.css", http.StatusNotFound},                 // unhashed
		{http.MethodGet, stale, http.StatusNotFound},                                 // stale or wrong hash
		{http.MethodGet, "/static/css/nope.0123456789.css", http.StatusNotFound},     // unknown
		{http.MethodGet, strings.TrimPrefix(hashed, "/static"), http.StatusNotFound}, // prefix stripped
		{http.MethodGet, "/static/", http.StatusNotFound},
		{http.MethodGet, "/static/../web.go", http.StatusNotFound},
		{http.MethodPost, hashed, http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		res := get(t, h, tc.method, tc.target, nil)
		if res.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.target, res.StatusCode, tc.want)
		}
		if res.StatusCode != http.StatusOK && res.Header.Get("Cache-Control") == "public, max-age=31536000, immutable" {
			t.Errorf("%s %s: error response marked immutable", tc.method, tc.target)
		}
	}
}

// testFS copies the embedded files into a MapFS that a test can then break.
func testFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		m[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBrokenTemplatesStopStart(t *testing.T) {
	if _, err := newRenderer(testFS(t)); err != nil {
		t.Fatalf("unbroken copy: %v", err)
	}
	cases := map[string]func(fstest.MapFS){
		"no layout file": func(m fstest.MapFS) { delete(m, "templates/layout.html") },
		"layout without layout": func(m fstest.MapFS) {
			m["templates/layout.html"] = &fstest.MapFile{Data: []byte(`{{define "shell"}}{{template "content" .}}{{end}}`)}
		},
		"no pages": func(m fstest.MapFS) {
			for name := range m {
				if strings.HasPrefix(name, "templates/pages/") {
					delete(m, name)
				}
			}
		},
		"page without content": func(m fstest.MapFS) {
			m["templates/pages/empty.html"] = &fstest.MapFile{Data: []byte(`{{define "head"}}{{end}}`)}
		},
		"syntax error": func(m fstest.MapFS) {
			m["templates/pages/bad.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if .User}}{{end}}`)}
		},
		"missing partial": func(m fstest.MapFS) {
			m["templates/pages/bad.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{template "nowhere" .}}{{end}}`)}
		},
		"escaping error": func(m fstest.MapFS) {
			m["templates/pages/bad.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if .User}}<a href="{{end}}x">{{end}}`)}
		},
		"unknown function": func(m fstest.MapFS) {
			m["templates/pages/bad.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{shout .Title}}{{end}}`)}
		},
		"unknown static file": func(m fstest.MapFS) {
			m["templates/partials/extra.html"] = &fstest.MapFile{Data: []byte(`{{define "dev-banner"}}<img src="{{static "img/nope.svg"}}" alt="">{{end}}`)}
			m["templates/layout.html"] = &fstest.MapFile{Data: bytes.Replace(m["templates/layout.html"].Data,
				[]byte(`{{if .DevMode}}{{template "dev-banner" .}}{{end}}`), []byte(`{{template "dev-banner" .}}`), 1)}
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			m := testFS(t)
			breakIt(m)
			if _, err := newRenderer(m); err == nil {
				t.Error("newRenderer succeeded")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestHashedName(t *testing.T) {
	cases := map[string]string{
		"css/app.css":         "css/app.abc.css",
		"vendor/pico.min.css": "vendor/pico.min.abc.css",
		"vendor/htmx.LICENSE": "vendor/htmx.abc.LICENSE",
		"LICENSE":             "LICENSE.abc",
		"img/.hidden":         "img/.hidden.abc",
		"a.dir/file":          "a.dir/file.abc",
	}
	for in, want := range cases {
		if got := hashedName(in, "abc"); got != want {
			t.Errorf("hashedName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"":                     false,
		"gzip":                 true,
		"GZIP":                 true,
		"br, gzip":             true,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"gzip;q=0.5, br":       true,
		"*":                    true,
		"identity":             false,
		"deflate, x-gzip-like": false,
	}
	for in, want := range cases {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestFlashKinds(t *testing.T) {
	cases := []struct{ kind, class, role, label string }{
		{"success", "success", "status", "Success"},
		{"info", "info", "status", "Information"},
		{"warning", "warning", "alert", "Warning"},
		{"error", "error", "alert", "Error"},
		{"", "info", "status", "Information"},
		{"danger", "info", "status", "Information"},
	}
	for _, tc := range cases {
		f := Flash{Kind: tc.kind}
		if f.Class() != tc.class || f.Role() != tc.role || f.Label() != tc.label {
			t.Errorf("Flash{%q}: class %q role %q label %q, want %q %q %q",
				tc.kind, f.Class(), f.Role(), f.Label(), tc.class, tc.role, tc.label)
		}
	}
}

func TestFuncs(t *testing.T) {
	r := newTestRenderer(t)
	fm := r.funcs()
	label := fm["statusLabel"].(func(string) string)
	class := fm["statusClass"].(func(string) string)
	for code, want := range map[string][2]string{
		"approved":                 {"Approved", "badge-approved"},
		"approved_with_conditions": {"Approved with conditions", "badge-approved-with-conditions"},
		"under_review":             {"Under review", "badge-under-review"},
		"not_approved":             {"Not approved", "badge-not-approved"},
		"retired":                  {"Retired", "badge-retired"},
		"mystery":                  {"mystery", "badge-unknown"},
		`x" onclick="y`:            {`x" onclick="y`, "badge-unknown"},
	} {
		if got := label(code); got != want[0] {
			t.Errorf("statusLabel(%q) = %q, want %q", code, got, want[0])
		}
		if got := class(code); got != want[1] {
			t.Errorf("statusClass(%q) = %q, want %q", code, got, want[1])
		}
	}

	date := fm["date"].(func(any) string)
	datetime := fm["datetime"].(func(any) string)
	iso := fm["isoTime"].(func(any) string)
	ts := time.Date(2026, 3, 7, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	var nilTime *time.Time
	for _, tc := range []struct {
		fn   func(any) string
		in   any
		want string
	}{
		{date, ts, "7 Mar 2026"},
		{date, &ts, "7 Mar 2026"},
		{datetime, ts, "7 Mar 2026, 22:30 UTC"},
		{iso, ts, "2026-03-07T22:30:00Z"},
		{date, time.Time{}, ""},
		{date, nilTime, ""},
		{date, nil, ""},
		{date, "yesterday", ""},
	} {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("format(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}

	plural := fm["plural"].(func(int, string, string) string)
	if got := plural(1, "vote", "votes"); got != "1 vote" {
		t.Errorf("plural(1) = %q", got)
	}
	if got := plural(0, "vote", "votes"); got != "0 votes" {
		t.Errorf("plural(0) = %q", got)
	}

	for in, want := range map[string]string{
		"Ada Lovelace":           "AL",
		"grace":                  "G",
		"Jean-Luc de Picard III": "JD",
		"  ":                     "?",
		"<script>":               "?",
		"élodie durand":          "ÉD",
	} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorViewHeading(t *testing.T) {
	for _, tc := range []struct {
		v    ErrorView
		want string
	}{
		{ErrorView{Status: 404, Title: "Gone fishing"}, "Gone fishing"},
		{ErrorView{Status: 404}, "We can't find that page"},
		{ErrorView{Status: 500}, "Something went wrong on our side"},
		{ErrorView{Status: 418}, "I'm a teapot"},
		{ErrorView{}, "Something went wrong"},
		{ErrorView{Status: 799}, "Something went wrong"},
	} {
		if got := tc.v.Heading(); got != tc.want {
			t.Errorf("%+v.Heading() = %q, want %q", tc.v, got, tc.want)
		}
	}
}
