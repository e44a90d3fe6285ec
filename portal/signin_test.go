package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/auth/oidctest"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestSignInWithDevProvider walks the whole flow for every demo user: a protected page sends
// the browser to the provider, the person picks a user, and they land back on the page with a
// session and the roles of their groups.
func TestSignInWithDevProvider(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env := newEnv(t, envOptions{provider: "devidp", open: b.Open})
			users := map[string]string{
				"devidp-employee":  "employee",
				"devidp-committee": "employee committee",
				"devidp-security":  "employee committee security",
				"devidp-admin":     "employee committee security admin",
			}
			for subject, roles := range users {
				br := env.browser()
				p := br.signInDev(env.base, "/account?tab=sessions", subject)
				if p.status != http.StatusOK || p.url.Path != "/account" || p.url.RawQuery != "tab=sessions" {
					t.Fatalf("%s: ended on %d %s, want /account?tab=sessions", subject, p.status, p.url)
				}
				email := strings.TrimPrefix(subject, "devidp-") + "@example.com"
				if !strings.Contains(p.body, email) {
					t.Errorf("%s: account page does not show %s", subject, email)
				}
				for _, r := range strings.Fields(roles) {
					if !strings.Contains(p.body, `class="role role-`+r+`"`) {
						t.Errorf("%s: account page lacks role %s", subject, r)
					}
				}
				if n := strings.Count(p.body, `class="role role-`); n != len(strings.Fields(roles)) {
					t.Errorf("%s: %d roles shown, want %s", subject, n, roles)
				}
				// The session cookie is HttpOnly and SameSite=Lax; nothing secret is in the URL.
				me := br.get(env.base + "/api/v1/me")
				if me.status != 200 || !strings.Contains(me.body, email) {
					t.Errorf("%s: /api/v1/me = %d %s", subject, me.status, me.body)
				}
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	br.stopAt = "/account"
	p := br.signInDev(env.base, "/account", "devidp-employee")
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "paved_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie in the callback's answer: %v", p.header)
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || len(session.Value) < 43 {
		t.Errorf("session cookie = %+v", session)
	}
	var stored int
	_ = env.db.Get(&stored, env.db.Rebind("SELECT COUNT(*) FROM sessions WHERE id_hash = ?"), session.Value)
	if stored != 0 {
		t.Error("the session id is stored in clear")
	}
}

func TestSignInCancelledEndsOnFriendlyPage(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	login := br.get(env.base + "/account")
	m := authRequestIDRe.FindStringSubmatch(login.body)
	if m == nil {
		t.Fatalf("no sign-in page: %s", login.body)
	}
	p := br.post(login.url.Scheme+"://"+login.url.Host+login.url.Path, url.Values{"authRequestID": {m[1]}, "cancel": {"cancel"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Sign-in was cancelled") || !strings.Contains(p.body, "Try again") {
		t.Fatalf("cancel ended on %d:\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "access_denied") {
		t.Error("the page shows the provider's raw error")
	}
}

func TestSignOutEndsSessionAtPortalAndProvider(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	br.signInDev(env.base, "/account", "devidp-admin")
	br.stopAt = "/devidp/end_session"
	p := br.post(env.base+"/auth/logout", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), env.base+"/devidp/end_session?") {
		t.Fatalf("sign-out answered %d, Location %q", p.status, p.header.Get("Location"))
	}
	br.stopAt = ""
	if p := br.get(p.header.Get("Location")); p.url.String() != env.base+"/" {
		t.Errorf("provider's sign-out ended at %s", p.url)
	}
	if p := br.get(env.base + "/account"); !strings.Contains(p.url.Path, "/devidp/") {
		t.Errorf("after sign-out /account is reachable (%d %s)", p.status, p.url)
	}
}

func TestOpenRedirectsAreRefused(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	for _, next := range []string{"//evil.example", "https://evil.example", "/\\evil.example", "/%5Cevil.example"} {
		br := env.browser()
		p := br.signInDev(env.base, "/auth/login?next="+url.QueryEscape(next), "devidp-employee")
		if p.url.Host != strings.TrimPrefix(env.base, "http://") || p.url.Path != "/" {
			t.Errorf("next=%q ended at %s, want %s/", next, p.url, env.base)
		}
	}
}

// callbackURL runs a sign-in with the misbehaving provider up to the moment the browser would
// return to Paved, and returns that URL without following it.
func callbackURL(t *testing.T, env *testEnv, br *browser) *url.URL {
	t.Helper()
	br.stopAt = "/auth/callback"
	p := br.get(env.base + "/auth/login?next=/account")
	br.stopAt = ""
	loc, err := url.Parse(p.header.Get("Location"))
	if p.status != http.StatusFound || err != nil || loc.Path != "/auth/callback" {
		t.Fatalf("provider answered %d, Location %q", p.status, p.header.Get("Location"))
	}
	return loc
}

func TestBrokenTokensAreRefused(t *testing.T) {
	tests := []struct {
		m      oidctest.Misbehaviour
		status int
		says   string
	}{
		{oidctest.WrongNonce, http.StatusUnauthorized, "could not be verified"},
		{oidctest.MissingNonce, http.StatusUnauthorized, "could not be verified"},
		{oidctest.WrongAudience, http.StatusUnauthorized, "could not be verified"},
		{oidctest.WrongIssuer, http.StatusUnauthorized, "could not be verified"},
		{oidctest.Expired, http.StatusUnauthorized, "could not be verified"},
		{oidctest.UnknownKey, http.StatusUnauthorized, "could not be verified"},
		{oidctest.UnknownKeySameKid, http.StatusUnauthorized, "could not be verified"},
		{oidctest.AlgNone, http.StatusUnauthorized, "could not be verified"},
		{oidctest.TokenError, http.StatusUnauthorized, "could not be verified"},
		{oidctest.MissingSubject, http.StatusUnauthorized, "could not be verified"},
		{oidctest.EmptySubject, http.StatusUnauthorized, "could not be verified"},
		{oidctest.EmailUnverified, http.StatusForbidden, "not verified"},
	}
	env := newEnv(t, envOptions{provider: "oidctest"})
	for _, tt := range tests {
		t.Run(tt.m.String(), func(t *testing.T) {
			env.idp.SetMisbehaviour(tt.m)
			br := env.browser()
			p := br.get(env.base + "/auth/login?next=/account")
			if p.status != tt.status || !strings.Contains(p.body, tt.says) || !strings.Contains(p.body, "Try again") {
				t.Fatalf("ended on %d %s:\n%s", p.status, p.url, p.body)
			}
			if got := br.get(env.base + "/api/v1/me"); got.status != http.StatusUnauthorized {
				t.Errorf("a session exists after a refused token: /api/v1/me = %d", got.status)
			}
		})
	}
	t.Run("honest provider signs in", func(t *testing.T) {
		env.idp.SetMisbehaviour(oidctest.Honest)
		p := env.browser().get(env.base + "/auth/login?next=/account")
		if p.status != http.StatusOK || p.url.Path != "/account" {
			t.Fatalf("honest sign-in ended on %d %s", p.status, p.url)
		}
	})
}

func TestWrongOrMissingStateIsRefused(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest"})
	for name, mangle := range map[string]func(url.Values){
		"wrong state":   func(q url.Values) { q.Set("state", "forged") },
		"missing state": func(q url.Values) { q.Del("state") },
	} {
		t.Run(name, func(t *testing.T) {
			br := env.browser()
			cb := callbackURL(t, env, br)
			q := cb.Query()
			mangle(q)
			cb.RawQuery = q.Encode()
			p := br.get(cb.String())
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "expired") {
				t.Fatalf("ended on %d:\n%s", p.status, p.body)
			}
		})
	}
	t.Run("callback from another browser", func(t *testing.T) {
		cb := callbackURL(t, env, env.browser())
		p := env.browser().get(cb.String()) // no sign-in cookie: a login CSRF attempt
		if p.status != http.StatusBadRequest {
			t.Fatalf("foreign callback ended on %d", p.status)
		}
	})
}

func TestReplayedCodeIsRefused(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest"})
	br := env.browser()
	cb := callbackURL(t, env, br)
	if p := br.get(cb.String()); p.status != http.StatusOK || p.url.Path != "/account" {
		t.Fatalf("first use ended on %d %s", p.status, p.url)
	}
	// Replaying the whole callback finds no sign-in in progress.
	if p := br.get(cb.String()); p.status != http.StatusBadRequest {
		t.Errorf("replayed callback: %d, want 400", p.status)
	}
	// Replaying the code inside a fresh sign-in reaches the provider, which refuses it.
	attacker := env.browser()
	fresh := callbackURL(t, env, attacker)
	q := fresh.Query()
	q.Set("code", cb.Query().Get("code"))
	fresh.RawQuery = q.Encode()
	if p := attacker.get(fresh.String()); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "could not be verified") {
		t.Errorf("replayed code in a fresh flow: %d\n%s", p.status, p.body)
	}
	if got := attacker.get(env.base + "/api/v1/me"); got.status != http.StatusUnauthorized {
		t.Errorf("the replay produced a session")
	}
}

func TestProviderDownEndsOnFriendlyPage(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest"})
	br := env.browser()
	cb := callbackURL(t, env, br)
	env.idp.Close()
	p := br.get(cb.String())
	if p.status != http.StatusBadGateway || !strings.Contains(p.body, "did not answer") || !strings.Contains(p.body, "Try again") {
		t.Fatalf("ended on %d:\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "connection refused") || strings.Contains(p.body, "dial tcp") {
		t.Error("the page leaks the network error")
	}
}

func TestDiscoveryRetriesThenFails(t *testing.T) {
	rp := auth.NewRP(auth.OIDCConfig{Issuer: "http://127.0.0.1:1/never", ClientID: "x"})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := rp.Discover(ctx)
	if err == nil || !strings.Contains(err.Error(), "PAVED_OIDC_ISSUER") || !strings.Contains(err.Error(), "attempts") {
		t.Fatalf("err = %v", err)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	br.signInDev(env.base, "/account", "devidp-admin")
	for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		p := br.post(env.base+"/admin/tokens", url.Values{"name": {"stolen"}, "scopes": {"audit:read"}, "expires": {"7"}}, h...)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "came from another site") {
			t.Errorf("%s: %d %q", h[0], p.status, p.body)
		}
	}
	if toks, _ := env.auth.Tokens(context.Background()); len(toks) != 0 {
		t.Errorf("a cross-origin request created %d tokens", len(toks))
	}
	// The same form from Paved's own page works.
	p := br.post(env.base+"/admin/tokens", url.Values{"name": {"mine"}, "scopes": {"audit:read"}, "expires": {"7"}}, "Origin", env.base, "Sec-Fetch-Site", "same-origin")
	if p.status != http.StatusOK || !strings.Contains(p.body, "pvd_") {
		t.Errorf("same-origin create: %d", p.status)
	}
}

func TestExpiredAndRevokedSessionsAreRefused(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	clock := time.Now()
	env.auth.Now = func() time.Time { return clock }
	br := env.browser()
	br.signInDev(env.base, "/account", "devidp-employee")
	if p := br.get(env.base + "/api/v1/me"); p.status != 200 {
		t.Fatalf("fresh session refused: %d", p.status)
	}
	clock = clock.Add(61 * time.Minute) // past the idle timeout
	if p := br.get(env.base + "/api/v1/me"); p.status != http.StatusUnauthorized {
		t.Errorf("idle session: %d, want 401", p.status)
	}
	br.signInDev(env.base, "/account", "devidp-employee")
	other := env.browser()
	other.signInDev(env.base, "/account", "devidp-employee")
	// Revocation from another browser ("sign out everywhere else") takes effect at once.
	if p := other.post(env.base+"/account/sessions/end-others", nil); p.status != 200 || !strings.Contains(p.body, "Signed out everywhere else") {
		t.Fatalf("end others: %d", p.status)
	}
	if p := br.get(env.base + "/api/v1/me"); p.status != http.StatusUnauthorized {
		t.Errorf("revoked session: %d, want 401", p.status)
	}
	if p := other.get(env.base + "/api/v1/me"); p.status != 200 {
		t.Errorf("the surviving session: %d", p.status)
	}
}
