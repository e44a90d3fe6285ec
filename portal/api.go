package portal

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/audit"
)

// apiMe says who the caller is: a person and their roles, or a token and its scopes.
func (s *Server) apiMe(c *gin.Context) {
	p := principalOf(c)
	if p.Token != nil {
		c.JSON(http.StatusOK, gin.H{"kind": "token", "name": p.Token.Name, "scopes": p.Token.Scopes(), "expires_at": p.Token.ExpiresAt})
		return
	}
	c.JSON(http.StatusOK, gin.H{"kind": "user", "email": p.User.Email, "name": p.User.Name, "roles": p.Roles})
}

// apiAudit lists audit entries, newest first: ?actor=&action=&object_type=&since=RFC3339&limit=.
func (s *Server) apiAudit(c *gin.Context) {
	f := audit.Filter{Actor: c.Query("actor"), Action: c.Query("action"), ObjectType: c.Query("object_type")}
	if v := c.Query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.fail(c, errInvalidField("since", "Use an RFC 3339 time such as 2026-01-31T00:00:00Z."))
			return
		}
		f.Since = t
	}
	if v := c.Query("limit"); v != "" {
		n, err := parseLimit(v)
		if err != nil {
			s.fail(c, err)
			return
		}
		f.Limit = n
	}
	entries, err := audit.List(c.Request.Context(), s.db, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}
