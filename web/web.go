// Package web holds Paved's HTML templates and static files, embedded in the binary, and the
// two things the portal needs from them: a Renderer that turns a page name and a view model
// into HTML, and a handler that serves the static files under content-hashed URLs.
//
// Templates follow one convention (DESIGN.md §5, conventions 7 and 12):
//
//   - templates/layout.html defines "layout": the document shell every page shares (head,
//     header with the navigation, flash messages, main, footer).
//   - templates/partials/*.html define pieces used by the layout and by pages ("nav",
//     "account", "flashes", "status-badge", ...).
//   - templates/pages/NAME.html define "content" (and may define "head" for extra tags in
//     <head>). NAME is what Render and Has take.
//
// Every template is parsed, and escaped, by NewRenderer, so a broken or missing template stops
// the server at start rather than on the first request that needs it.
//
// The pages obey a strict Content-Security-Policy: no inline scripts, no inline event
// handlers, no style attributes. htmx is loaded as a deferred file and configured through a
// <meta name="htmx-config"> tag so that it neither injects a <style> element nor evaluates
// strings as code.
package web

import (
	"github.com/pavedhq/paved/internal/markdown"

	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates static
var files embed.FS

// StaticPrefix is the URL path under which StaticHandler serves the static files. The portal
// mounts the handler there without stripping it.
const StaticPrefix = "/static/"

// hashLen is how many hex digits of a file's SHA-256 go into its URL: 40 bits, plenty to tell
// two versions of one file apart, short enough to keep URLs readable.
const hashLen = 10

// ErrUnknownPage is returned by Render for a page that has no template.
var ErrUnknownPage = errors.New("web: unknown page")

// NavItem is one entry of the main navigation. The portal decides which entries a user sees.
type NavItem struct {
	Label  string
	Href   string
	Active bool // marks the entry of the section being shown (aria-current="page")
	// Count is how many things wait in the section for this person (0 shows nothing).
	Count int
	// CountLabel says what Count counts, for screen readers ("3 waiting for review").
	CountLabel string
}

// Flash is a one-off message shown at the top of the next page, such as "Request sent".
type Flash struct {
	Kind    string // success, info, warning or error; anything else is shown as info
	Message string
}

// flashKinds maps the kinds of Flash the templates style to the word read out before them.
var flashKinds = map[string]string{
	"success": "Success",
	"info":    "Information",
	"warning": "Warning",
	"error":   "Error",
}

// Class returns the kind to style the message as: Kind when it is known, "info" otherwise.
func (f Flash) Class() string {
	if _, ok := flashKinds[f.Kind]; ok {
		return f.Kind
	}
	return "info"
}

// Role returns the ARIA role of the message: "alert" for warnings and errors, which screen
// readers announce at once, and "status" for the rest, which they announce politely.
func (f Flash) Role() string {
	switch f.Class() {
	case "warning", "error":
		return "alert"
	}
	return "status"
}

// Label returns a word naming the kind ("Error"), shown before the message so that the
// kind is not told by colour alone.
func (f Flash) Label() string { return flashKinds[f.Class()] }

// UserView is the signed-in user as the layout shows them.
type UserView struct {
	Name  string
	Email string
	Roles []string
}

// Page is what every page template receives: the data the layout needs, plus the page's own
// view model in Data.
type Page struct {
	Title     string    // shown as "Title · Paved"; empty gives just "Paved"
	User      *UserView // nil when signed out
	Nav       []NavItem // computed by the portal per role
	Flashes   []Flash
	DevMode   bool   // shows a warning banner on every page
	RequestID string // shown on error pages so that people can quote it to support
	// Path is the current request's path, with its query if any. The "Sign in" link sends it
	// as ?next= so that people come back where they were; the auth package must still check
	// that next is a local path before redirecting to it.
	Path string
	Data any // the page's own view model
}

// ErrorView is the view model of the "error" page.
type ErrorView struct {
	Status    int    // HTTP status, shown to the user
	Title     string // short headline; empty uses the status text ("Not Found")
	Message   string // what happened and what to do, safe to show to the user
	RetryHref string // when set, a "Try again" link to this URL is shown
}

// friendlyStatus gives the headline for the statuses people meet most, in words rather
// than in HTTP's jargon ("Internal Server Error").
var friendlyStatus = map[int]string{
	http.StatusBadRequest:            "That request did not look right",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "You do not have access to this page",
	http.StatusNotFound:              "We can't find that page",
	http.StatusMethodNotAllowed:      "That action is not available here",
	http.StatusConflict:              "Something changed while you were working",
	http.StatusGone:                  "This page is gone",
	http.StatusRequestEntityTooLarge: "That upload is too large",
	http.StatusTooManyRequests:       "Too many requests at once",
	http.StatusInternalServerError:   "Something went wrong on our side",
	http.StatusBadGateway:            "Paved is briefly unavailable",
	http.StatusServiceUnavailable:    "Paved is briefly unavailable",
	http.StatusGatewayTimeout:        "Paved is briefly unavailable",
}

// Heading returns Title, or a plain-words headline for Status when Title is empty.
func (e ErrorView) Heading() string {
	if e.Title != "" {
		return e.Title
	}
	if t, ok := friendlyStatus[e.Status]; ok {
		return t
	}
	if t := http.StatusText(e.Status); t != "" {
		return t
	}
	return "Something went wrong"
}

// Renderer renders the embedded templates and serves the embedded static files. It is built
// once at start and is safe for concurrent use.
type Renderer struct {
	pages  map[string]*template.Template // page name -> layout + partials + that page
	urls   map[string]string             // "css/app.css" -> "/static/css/app.<hash>.css"
	served map[string]*staticFile        // "css/app.<hash>.css" -> file
}

type staticFile struct {
	data        []byte
	gzipped     []byte // nil when compressing does not pay
	contentType string
	etag        string // quoted; the gzipped variant adds "-gz" inside the quotes
}

// NewRenderer parses all templates and indexes all static files embedded in the binary. Any
// missing, unparsable or unescapable template is an error, so the server refuses to start.
func NewRenderer() (*Renderer, error) {
	return newRenderer(files)
}

func newRenderer(fsys fs.FS) (*Renderer, error) {
	r := &Renderer{
		pages:  map[string]*template.Template{},
		urls:   map[string]string{},
		served: map[string]*staticFile{},
	}
	if err := r.loadStatic(fsys); err != nil {
		return nil, err
	}
	if err := r.loadTemplates(fsys); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Renderer) loadTemplates(fsys fs.FS) error {
	base, err := template.New("").Funcs(r.funcs()).ParseFS(fsys, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return fmt.Errorf("web: parse layout and partials: %w", err)
	}
	if base.Lookup("layout") == nil {
		return errors.New(`web: templates/layout.html does not define "layout"`)
	}
	pageFiles, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return fmt.Errorf("web: list pages: %w", err)
	}
	if len(pageFiles) == 0 {
		return errors.New("web: no page templates in templates/pages")
	}
	for _, file := range pageFiles {
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := base.Clone()
		if err != nil {
			return fmt.Errorf("web: clone layout for page %q: %w", name, err)
		}
		if t, err = t.ParseFS(fsys, file); err != nil {
			return fmt.Errorf("web: parse page %q: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf(`web: page %q (%s) does not define "content"`, name, file)
		}
		// html/template escapes a template set on its first execution. Executing once here,
		// with an empty Page, moves escaping errors (an attribute left open, a {{if}} whose
		// branches end in different contexts) to start-up. Errors that come from the empty data
		// itself are expected and ignored; only escaping errors and calls of unknown static
		// files count.
		if err := t.ExecuteTemplate(io.Discard, "layout", Page{}); err != nil {
			var escErr *template.Error
			var staticErr *unknownStaticError
			if errors.As(err, &escErr) || errors.As(err, &staticErr) {
				return fmt.Errorf("web: page %q: %w", name, err)
			}
		}
		r.pages[name] = t
	}
	return nil
}

// Render writes the HTML of page (a file name under templates/pages without ".html") with p
// as its data. The page is rendered into a buffer first, so on error nothing has been written
// to w and the caller can still answer with an error page. Render does not set headers.
func (r *Renderer) Render(w io.Writer, page string, p Page) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPage, page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: render page %q: %w", page, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// RenderFragment writes one named template of a page without the layout, for htmx requests
// that swap part of a page. It receives the same Page as a full render.
func (r *Renderer) RenderFragment(w io.Writer, page, name string, p Page) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPage, page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		return fmt.Errorf("web: render %q of page %q: %w", name, page, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Has reports whether there is a template for page.
func (r *Renderer) Has(page string) bool {
	_, ok := r.pages[page]
	return ok
}

// Pages returns the names of all pages, sorted.
func (r *Renderer) Pages() []string {
	names := make([]string, 0, len(r.pages))
	for name := range r.pages {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// StaticPath returns the URL of the static file name (a path under static/, such as
// "css/app.css"), with a hash of its content in the file name: "/static/css/app.3f2a9c1b0d.css".
// A new version of a file gets a new URL, which is why StaticHandler can let browsers cache
// every URL for a year. It returns "" for a file that does not exist; templates use the
// "static" function instead, which fails the render.
func (r *Renderer) StaticPath(name string) string {
	return r.urls[strings.TrimPrefix(name, "/")]
}

type unknownStaticError struct{ name string }

func (e *unknownStaticError) Error() string {
	return fmt.Sprintf("web: no static file %q under web/static", e.name)
}

func (r *Renderer) staticURL(name string) (string, error) {
	if u := r.StaticPath(name); u != "" {
		return u, nil
	}
	return "", &unknownStaticError{name: name}
}

// StaticHandler serves the static files under the URLs StaticPath returns. Mount it at
// StaticPrefix WITHOUT stripping the prefix: it reads the full request path, e.g.
//
//	mux.Handle("GET /static/", renderer.StaticHandler())
//	router.GET("/static/*file", gin.WrapH(renderer.StaticHandler()))
//
// Only hashed URLs of the current files are served, with Cache-Control "public,
// max-age=31536000, immutable"; an unknown name, an unhashed name or a stale hash gets 404,
// so an old page never silently loads a new stylesheet. Text files are sent gzipped to
// clients that accept it. Methods other than GET and HEAD get 405.
func (r *Renderer) StaticHandler() http.Handler {
	return http.HandlerFunc(r.serveStatic)
}

func (r *Renderer) serveStatic(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(req.URL.Path, StaticPrefix)
	f := r.served[name]
	if !ok || f == nil {
		http.NotFound(w, req)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := f.data, f.etag
	if f.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match, Range and HEAD. The zero time leaves out
	// Last-Modified: embedded files have no modification time.
	http.ServeContent(w, req, name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (or "*") with a non-zero
// quality.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.TrimSpace(strings.ToLower(k)) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

func (r *Renderer) loadStatic(fsys fs.FS) error {
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])
		hashed := hashedName(name, hash[:hashLen])
		f := &staticFile{data: data, contentType: contentType(name, data), etag: `"` + hash + `"`}
		if compressible(f.contentType) {
			f.gzipped = gzipIfSmaller(data)
		}
		r.urls[name] = StaticPrefix + hashed
		r.served[hashed] = f
		return nil
	})
	if err != nil {
		return fmt.Errorf("web: read static files: %w", err)
	}
	return nil
}

// hashedName puts hash before the last extension of name: "css/app.css" -> "css/app.HASH.css".
// Only the last extension moves, so "vendor/pico.min.css" becomes "vendor/pico.min.HASH.css".
func hashedName(name, hash string) string {
	dir, file := path.Split(name)
	if i := strings.LastIndexByte(file, '.'); i > 0 {
		return dir + file[:i] + "." + hash + file[i:]
	}
	return dir + file + "." + hash
}

// contentTypes fixes the types of the files we ship, so that they do not depend on the
// host's mime.types; other extensions fall back to the mime package, then to sniffing.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".json":  "application/json",
	".map":   "application/json",
	".md":    "text/markdown; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
}

func contentType(name string, data []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.HasPrefix(contentType, "image/svg+xml") ||
		strings.HasPrefix(contentType, "application/json")
}

// gzipIfSmaller returns data gzipped, or nil when that saves less than a tenth: small files
// are not worth the CPU of the client.
func gzipIfSmaller(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	if _, err := zw.Write(data); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil {
		return nil
	}
	if buf.Len() > len(data)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// statusLabels are the human labels of the catalogue's app statuses.
// conditionLabels name the kinds of checkable condition for people.
var conditionLabels = map[string]string{
	"seat_limit": "Seat limit", "allowed_groups": "Allowed people", "forbidden_scopes": "Forbidden OAuth scopes", "pilot_end": "Pilot end",
}

var statusLabels = map[string]string{
	"approved":                 "Approved",
	"approved_with_conditions": "Approved with conditions",
	"under_review":             "Under review",
	"not_approved":             "Not approved",
	"retired":                  "Retired",
}

func (r *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		// static "css/app.css" -> "/static/css/app.<hash>.css"; an unknown file fails the render.
		"static": r.staticURL,
		// statusLabel "approved_with_conditions" -> "Approved with conditions"; an unknown
		// code is shown as it is rather than hidden.
		"statusLabel": func(code string) string {
			if l, ok := statusLabels[code]; ok {
				return l
			}
			return code
		},
		// conditionLabel "seat_limit" -> "Seat limit"; an unknown kind is shown as it is.
		"conditionLabel": func(kind string) string {
			if l, ok := conditionLabels[kind]; ok {
				return l
			}
			return kind
		},
		// statusClass gives the CSS class of a status badge; unknown codes get a neutral one.
		"statusClass": func(code string) string {
			if _, ok := statusLabels[code]; ok {
				return "badge-" + strings.ReplaceAll(code, "_", "-")
			}
			return "badge-unknown"
		},
		// minorUnits writes an amount in cents as "12.50"; it takes an int64 or *int64.
		"minorUnits": func(v any) string {
			var n int64
			switch x := v.(type) {
			case int64:
				n = x
			case *int64:
				if x == nil {
					return ""
				}
				n = *x
			default:
				return ""
			}
			sign := ""
			if n < 0 {
				sign, n = "-", -n
			}
			return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
		},
		// markdown renders a comment's safe Markdown subset (internal/markdown escapes all input).
		"markdown": markdown.Render,
		// join is strings.Join: {{join .Roles ", "}}.
		"join": strings.Join,
		// date, datetime and isoTime format a time.Time or *time.Time in UTC; a zero time or a
		// nil pointer gives "" instead of "1 Jan 0001".
		"date":     func(v any) string { return formatTime(v, "2 Jan 2006") },
		"datetime": func(v any) string { return formatTime(v, "2 Jan 2006, 15:04 UTC") },
		"isoTime":  func(v any) string { return formatTime(v, time.RFC3339) },
		// plural 1 "vote" "votes" -> "1 vote"; plural 3 "vote" "votes" -> "3 votes".
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return "1 " + one
			}
			return strconv.Itoa(n) + " " + many
		},
		// initials "Ada Lovelace" -> "AL", for avatars.
		"initials": initials,
	}
}

func formatTime(v any, layout string) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

func initials(name string) string {
	var out []rune
	for word := range strings.FieldsSeq(name) {
		r, _ := utf8.DecodeRuneInString(word)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
