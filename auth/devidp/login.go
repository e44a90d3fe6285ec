package devidp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The sign-in page is op's "login" step: op stores the auth request and redirects here
// (client.LoginURL); picking a user marks the request done and sends the browser to
// op's callback, which issues the code and redirects to the client.

//go:embed templates/pages.html
var pagesFS embed.FS

//go:embed static/devidp.css
var styleCSS []byte

// maxFormBytes bounds the sign-in form body; it carries two short fields.
const maxFormBytes = 8 << 10

// parsePages parses the templates once at start, so a broken template stops New
// instead of the first sign-in.
func parsePages() (*template.Template, error) {
	t, err := template.New("pages").
		Funcs(template.FuncMap{"join": strings.Join}).
		ParseFS(pagesFS, "templates/pages.html")
	if err != nil {
		return nil, fmt.Errorf("devidp: parse templates: %w", err)
	}
	return t, nil
}

// pageBase holds what every page's head needs.
type pageBase struct {
	Title    string
	StyleURL string
}

type loginView struct {
	pageBase
	ClientID      string
	Action        string
	AuthRequestID string
	Users         []User
}

type messageView struct {
	pageBase
	Heading string
	Message string
}

func (p *Provider) base() pageBase {
	return pageBase{Title: "Paved dev sign-in", StyleURL: p.prefix + stylePath}
}

// handleLoginPage shows one button per user for the auth request in the query.
func (p *Provider) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	ar, err := p.store.authRequest(r.URL.Query().Get("authRequestID"))
	if err != nil || ar.done {
		p.renderStale(w, r)
		return
	}
	p.render(w, r, http.StatusOK, "login", loginView{
		pageBase:      p.base(),
		ClientID:      ar.clientID,
		Action:        p.prefix + loginPath,
		AuthRequestID: ar.id,
		Users:         p.users,
	})
}

// handleLoginSubmit completes the auth request as the picked user, or cancels it.
func (p *Provider) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read. Go back to Paved and sign in again.")
		return
	}
	id := r.PostForm.Get("authRequestID")
	ctx := r.Context()

	if r.PostForm.Has("cancel") {
		ar, err := p.store.authRequest(id)
		if err != nil || ar.done {
			p.renderStale(w, r)
			return
		}
		_ = p.store.DeleteAuthRequest(ctx, id)
		p.log.InfoContext(ctx, "dev sign-in cancelled", "client_id", ar.clientID)
		// op builds the error redirect (error=access_denied plus the client's state) the
		// same way it reports its own failures, honouring the response mode.
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("The user cancelled the sign-in."), p.op)
		return
	}

	subject := r.PostForm.Get("user")
	ar, err := p.store.completeAuthRequest(id, subject)
	switch {
	case errors.Is(err, errUnknownAuthRequest), errors.Is(err, errAuthRequestFinished):
		p.renderStale(w, r)
		return
	case err != nil:
		p.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "That user does not exist. Go back to Paved and sign in again.")
		return
	}
	p.log.InfoContext(ctx, "dev sign-in", "subject", subject, "client_id", ar.clientID)
	// The callback lives in op's router, which reads the issuer from the context that
	// its own middleware sets; this handler sits beside that router, so set it here.
	callback := op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.issuer), id)
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

// handleLoggedOut is end_session's landing page when the client named no
// post_logout_redirect_uri.
func (p *Provider) handleLoggedOut(w http.ResponseWriter, r *http.Request) {
	p.renderMessage(w, r, http.StatusOK, "Signed out", "You are signed out of the development identity provider.")
}

func handleStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(styleCSS)
}

func (p *Provider) renderStale(w http.ResponseWriter, r *http.Request) {
	p.renderMessage(w, r, http.StatusBadRequest, "Sign-in expired",
		"This sign-in request has expired or was already used. Go back to Paved and sign in again.")
}

func (p *Provider) renderMessage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	p.render(w, r, status, "message", messageView{pageBase: p.base(), Heading: heading, Message: message})
}

// render executes into a buffer first, so a template error becomes a clean 500 rather
// than half a page.
func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page URL carries the auth request id: keep it out of caches and referrers.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// No script, no framing (a framed picker invites clickjacking), styles from the file.
	// form-action is left out on purpose: browsers apply it to the redirects after the
	// post, which end at the client's redirect URI, possibly on another origin.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
