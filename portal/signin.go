package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/web"
)

// signIn starts a sign-in: it records state, nonce and PKCE verifier for this browser and
// sends it to the identity provider.
func (s *Server) signIn(c *gin.Context) {
	next := auth.SafeReturnPath(c.Query("next"))
	// Sign-in cookies belong to one host: start on the canonical one, or the callback (which
	// the provider sends to the base URL) would not find them.
	if base, err := url.Parse(s.cfg.BaseURL); err == nil && !strings.EqualFold(c.Request.Host, base.Host) {
		c.Redirect(http.StatusSeeOther, s.cfg.BaseURL+"/auth/login?next="+url.QueryEscape(next))
		return
	}
	if s.rp == nil || s.auth == nil {
		s.renderStatus(c, http.StatusServiceUnavailable, web.ErrorView{Status: http.StatusServiceUnavailable,
			Title:   "Sign-in is not set up yet",
			Message: "This Paved server has no identity provider configured. An administrator sets PAVED_OIDC_ISSUER, PAVED_OIDC_CLIENT_ID and PAVED_OIDC_CLIENT_SECRET, or runs `paved dev` to try Paved with demo users."})
		return
	}
	if p := principalOf(c); p != nil && p.User != nil {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	flow, err := s.auth.StartLogin(c.Request.Context(), next)
	if err != nil {
		s.fail(c, err)
		return
	}
	target, err := s.rp.AuthCodeURL(flow)
	if err != nil {
		s.signInFailed(c, err, next)
		return
	}
	s.setCookie(c, s.loginCookie(), flow.Browser, 600)
	c.Redirect(http.StatusSeeOther, target)
}

// signInCallback finishes a sign-in when the provider sends the browser back.
func (s *Server) signInCallback(c *gin.Context) {
	if s.rp == nil || s.auth == nil {
		s.fail(c, errs.E(errs.NotFound, "Sign-in is not set up."))
		return
	}
	ctx := c.Request.Context()
	browser, _ := c.Cookie(s.loginCookie())
	s.setCookie(c, s.loginCookie(), "", -1)
	flow, err := s.auth.FinishLogin(ctx, browser, c.Query("state"))
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			err = &auth.SignInError{Failure: auth.FailState, Err: err}
		}
		s.signInFailed(c, err, "/")
		return
	}
	if e := c.Query("error"); e != "" {
		s.signInFailed(c, &auth.SignInError{Failure: auth.FailCancelled, Err: errors.New("provider returned error=" + e + ": " + c.Query("error_description"))}, flow.ReturnTo)
		return
	}
	id, rawIDToken, err := s.rp.Exchange(ctx, flow, c.Query("code"))
	if err != nil {
		s.signInFailed(c, err, flow.ReturnTo)
		return
	}
	roles := s.roles.RolesFor(id.Groups)
	_, secret, err := s.auth.SignIn(ctx, id, roles, rawIDToken, auth.ClientInfo{UserAgent: c.Request.UserAgent(), IP: c.ClientIP(), RequestID: RequestIDOf(c)})
	if err != nil {
		s.fail(c, err)
		return
	}
	// The directory learns the person's groups; a failure there must not undo the sign-in.
	if s.discovery != nil {
		if err := s.discovery.RecordSignIn(ctx, id.Email, id.Name, id.Groups); err != nil {
			s.log.WarnContext(ctx, "record the groups of a sign-in", "err", err, "request_id", RequestIDOf(c))
		}
	}
	s.setCookie(c, s.sessionCookie(), secret, int(s.cfg.SessionMaxLifetime.Seconds()))
	c.Redirect(http.StatusSeeOther, flow.ReturnTo)
}

// signInMessages say what happened, in words for the person at the browser; details are logged.
var signInMessages = map[auth.Failure]struct {
	status         int
	title, message string
}{
	auth.FailProviderDown:    {http.StatusBadGateway, "Your company's sign-in service did not answer", "Paved could not reach the identity provider just now. Wait a moment and try again; if it keeps happening, tell your IT team."},
	auth.FailCancelled:       {http.StatusUnauthorized, "Sign-in was cancelled", "The sign-in was cancelled or refused at your company's sign-in page. You can try again whenever you are ready."},
	auth.FailState:           {http.StatusBadRequest, "This sign-in link has expired", "The sign-in did not start here, took too long, or was already used (for example after pressing Back). Start again and it will work."},
	auth.FailTokenRejected:   {http.StatusUnauthorized, "Your sign-in could not be verified", "Paved could not verify the answer from your company's sign-in service, so it did not sign you in. Try again; if it keeps happening, tell your IT team and quote the request id."},
	auth.FailEmailUnverified: {http.StatusForbidden, "Your e-mail address is not verified", "Your company's sign-in service does not vouch for your e-mail address, which Paved needs. Ask your IT team to verify it, then try again."},
}

func (s *Server) signInFailed(c *gin.Context, err error, next string) {
	var se *auth.SignInError
	if !errors.As(err, &se) {
		s.fail(c, err)
		return
	}
	m := signInMessages[se.Failure]
	s.log.WarnContext(c.Request.Context(), "sign-in failed", "failure", m.title, "err", err, "request_id", RequestIDOf(c))
	s.renderStatus(c, m.status, web.ErrorView{Status: m.status, Title: m.title, Message: m.message,
		RetryHref: "/auth/login?next=" + url.QueryEscape(next)})
}

// signOut ends the session here and, when the provider supports it, there too.
func (s *Server) signOut(c *gin.Context) {
	secret, _ := c.Cookie(s.sessionCookie())
	s.setCookie(c, s.sessionCookie(), "", -1)
	if s.auth == nil {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	idToken, err := s.auth.SignOut(c.Request.Context(), secret, auth.ClientInfo{RequestID: RequestIDOf(c)})
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.rp != nil && secret != "" {
		if u := s.rp.LogoutURL(idToken, s.cfg.BaseURL+"/"); u != "" {
			c.Redirect(http.StatusSeeOther, u)
			return
		}
	}
	s.flash(c, "success", "You are signed out.")
	c.Redirect(http.StatusSeeOther, "/")
}
