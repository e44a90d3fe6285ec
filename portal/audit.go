package portal

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/audit"
)

// auditView is the audit log page: filters and the newest matching entries.
type auditView struct {
	Actor, Action, ObjectType, Since, Category string
	Categories                                 []audit.Category
	Entries                                    []auditRow
	CSVURL                                     string
}

// auditFilter reads the page's filters; a bad date is a field error. Sign-ins, which outnumber
// everything else, are left out unless the category asks for them or for everything ("all").
func auditFilter(c *gin.Context, limit int) (audit.Filter, error) {
	f := audit.Filter{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")), ObjectType: strings.TrimSpace(c.Query("object_type")), Limit: limit}
	switch cat := strings.TrimSpace(c.Query("category")); cat {
	case "":
		f.HideSignIns = f.Action == ""
	case "all":
	default:
		known := false
		for _, k := range audit.Categories {
			known = known || k.Key == cat
		}
		if !known {
			return f, errInvalidField("category", "Choose a category from the list.")
		}
		f.Category = cat
	}
	if v := strings.TrimSpace(c.Query("since")); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return f, errInvalidField("since", "Use a date such as 2026-01-31.")
		}
		f.Since = t
	}
	return f, nil
}

func (s *Server) auditPage(c *gin.Context) {
	f, err := auditFilter(c, 200)
	if err != nil {
		s.fail(c, err)
		return
	}
	entries, err := audit.List(c.Request.Context(), s.db, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := c.Request.URL.Query()
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
		rows[i] = auditRow{Entry: e, Sentence: describeAudit(e), Category: audit.CategoryOf(e.Action).Label}
	}
	s.render(c, http.StatusOK, "audit", "Audit log", auditView{Actor: f.Actor, Action: f.Action, ObjectType: f.ObjectType, Since: c.Query("since"),
		Category: c.Query("category"), Categories: audit.Categories, Entries: rows, CSVURL: "/admin/audit.csv?" + q.Encode()})
}

// auditCSV exports the filtered log (up to 1,000 rows) for spreadsheets and auditors.
func (s *Server) auditCSV(c *gin.Context) {
	f, err := auditFilter(c, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	entries, err := audit.List(c.Request.Context(), s.db, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="paved-audit-`+time.Now().UTC().Format("20060102")+`.csv"`)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"id", "time", "actor", "action", "object_type", "object_id", "details", "request_id"})
	for _, e := range entries {
		_ = w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), csvSafe(e.Actor), csvSafe(e.Action), csvSafe(e.ObjectType), csvSafe(e.ObjectID), csvSafe(e.Details), e.RequestID})
	}
	w.Flush()
}

// csvSafe defuses values a spreadsheet would run as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
