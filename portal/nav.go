package portal

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/web"
)

// navEntry is a section of the portal and the role it is for.
type navEntry struct {
	Label, Href string
	Role        auth.Role
}

// navCatalogue lists every section in display order. Only those whose page exists in the route
// table are shown, so the navigation never leads to a missing page.
var navCatalogue = []navEntry{
	{"Catalogue", "/apps", auth.RoleEmployee},
	{"My requests", "/requests", auth.RoleEmployee},
	{"Voting", "/voting", auth.RoleCommittee},
	{"Reviews", "/reviews", auth.RoleSecurity},
	{"Discovery", "/discovery", auth.RoleSecurity},
	{"Actions", "/actions", auth.RoleSecurity},
	{"Audit log", "/admin/audit", auth.RoleAdmin},
	{"Categories", "/admin/categories", auth.RoleAdmin},
	{"Log sources", "/admin/sources", auth.RoleAdmin},
	{"Risk weights", "/admin/risk-weights", auth.RoleAdmin},
	{"API tokens", "/admin/tokens", auth.RoleAdmin},
	{"Account", "/account", auth.RoleEmployee},
}

func (s *Server) buildNav() []navEntry {
	have := map[string]bool{}
	for _, r := range s.routeTable() {
		if r.Method == http.MethodGet {
			have[r.Path] = true
		}
	}
	var out []navEntry
	for _, n := range navCatalogue {
		if have[n.Href] {
			out = append(out, n)
		}
	}
	return out
}

// navFor returns the sections roles may see, marking the one path belongs to, with the number
// of things waiting in the queues.
func (s *Server) navFor(c *gin.Context, roles auth.RoleSet, userID int64) []web.NavItem {
	path := c.Request.URL.Path
	var counts requests.QueueCounts
	if s.requests != nil && roles.Has(auth.RoleCommittee) {
		var err error
		if counts, err = s.requests.CountQueues(c.Request.Context(), userID); err != nil {
			// The page matters more than its badges: log and show none.
			s.log.WarnContext(c.Request.Context(), "count queues", "err", err, "request_id", RequestIDOf(c))
		}
	}
	var out []web.NavItem
	for _, n := range s.nav {
		if !roles.Has(n.Role) {
			continue
		}
		item := web.NavItem{Label: n.Label, Href: n.Href, Active: path == n.Href || strings.HasPrefix(path, n.Href+"/")}
		switch n.Href {
		case "/reviews":
			item.Count, item.CountLabel = counts.Reviews, plural(counts.Reviews, "request waits", "requests wait")+" for security"
		case "/voting":
			item.Count, item.CountLabel = counts.Votes, plural(counts.Votes, "open vote", "open votes")+" without your vote"
		}
		out = append(out, item)
	}
	return out
}

// plural writes "1 vote" or "3 votes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// flashCookie carries one message to the next page, as after a redirect.
const flashCookie = "paved_flash"

// flash leaves a message for the next page this browser shows.
func (s *Server) flash(c *gin.Context, kind, message string) {
	v := kind + "|" + message
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: encodeFlash(v), Path: "/", MaxAge: 60, HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
}

func (s *Server) takeFlashes(c *gin.Context) []web.Flash {
	raw, err := c.Cookie(flashCookie)
	if err != nil || raw == "" {
		return nil
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	kind, msg, ok := strings.Cut(decodeFlash(raw), "|")
	if !ok || msg == "" {
		return nil
	}
	return []web.Flash{{Kind: kind, Message: msg}}
}

func encodeFlash(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }

func decodeFlash(v string) string {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}
