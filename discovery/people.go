package discovery

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
)

// The people directory says who is in which department and groups, so usage can be broken down
// by department and held against conditions that name groups. A person is a normalised e-mail
// address, as in the usage rollups. Records come from sources (a CSV upload, an IdP directory,
// the groups a person signs in to Paved with), each replacing only what it said before.

// Directory sources.
const (
	PeopleFromCSV  = "csv"  // an uploaded directory export
	PeopleFromOIDC = "oidc" // what a person's ID token says when they sign in to Paved
)

// Person is one person of the directory.
type Person struct {
	Email      string   `db:"email" json:"email"`
	Name       string   `db:"name" json:"name,omitempty"`
	Department string   `db:"department" json:"department,omitempty"`
	Manager    string   `db:"manager" json:"manager,omitempty"`
	Source     string   `db:"source" json:"source"`
	Groups     []string `db:"-" json:"groups"`
}

// PeopleImport is what a directory import did.
type PeopleImport struct {
	Read, Saved, Rejected int
	Rejections            []Rejection // the first 100, with line and column
}

// The limits of one directory record.
const (
	maxPersonField = 200
	maxGroups      = 100
)

// ImportPeople reads a directory export as CSV — a header naming email (required), name,
// department, groups (separated by ";" or "|") and manager, in any order and letter case — and
// saves each valid row, replacing what an earlier CSV import said of that person. A row with a
// bad value is rejected with its line and column; the others are saved. A file without an email
// column, or that is not CSV, is an error naming the line.
func (s *Store) ImportPeople(ctx context.Context, actor audit.Actor, r io.Reader) (PeopleImport, error) {
	var res PeopleImport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return res, &ParseError{Format: "people", Line: 1, Msg: "the file is empty: want a header naming at least an email column"}
		}
		return res, &ParseError{Format: "people", Line: 1, Msg: fmt.Sprintf("not a CSV file: %v", err)}
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "e-mail", "mail", "user", "username", "login":
			h = "email"
		case "display name", "full name":
			h = "name"
		case "dept", "team":
			h = "department"
		case "group", "member of":
			h = "groups"
		case "manager email", "manager e-mail":
			h = "manager"
		}
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	if _, ok := cols["email"]; !ok {
		return res, &ParseError{Format: "people", Line: 1, Msg: "the header has no email column (want email, and any of name, department, groups, manager)"}
	}
	field := func(row []string, name string) string {
		if i, ok := cols[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var batch []Person
	reject := func(line int, column, reason string) {
		res.Rejected++
		if len(res.Rejections) < maxRejections {
			res.Rejections = append(res.Rejections, Rejection{Line: line, Reason: fmt.Sprintf("column %s: %s", column, reason)})
		}
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return res, &ParseError{Format: "people", Line: pe.Line, Msg: pe.Err.Error()}
			}
			return res, err
		}
		line, _ := cr.FieldPos(0)
		res.Read++
		p := Person{Email: normalizeEmail(field(row, "email")), Name: field(row, "name"), Department: field(row, "department"),
			Manager: strings.ToLower(field(row, "manager")), Source: PeopleFromCSV}
		switch {
		case p.Email == "":
			reject(line, "email", fmt.Sprintf("%q is not an e-mail address", field(row, "email")))
			continue
		case p.Manager != "" && normalizeEmail(p.Manager) == "":
			reject(line, "manager", fmt.Sprintf("%q is not an e-mail address", p.Manager))
			continue
		}
		bad := ""
		for _, c := range []struct{ name, v string }{{"name", p.Name}, {"department", p.Department}} {
			if msg := personFieldProblem(c.v); msg != "" {
				bad = c.name + ": " + msg
				break
			}
		}
		if bad != "" {
			col, msg, _ := strings.Cut(bad, ": ")
			reject(line, col, msg)
			continue
		}
		groups, msg := splitGroups(field(row, "groups"))
		if msg != "" {
			reject(line, "groups", msg)
			continue
		}
		p.Groups = groups
		batch = append(batch, p)
		if len(batch) >= 500 {
			if err := s.savePeople(ctx, batch); err != nil {
				return res, err
			}
			res.Saved += len(batch)
			batch = batch[:0]
		}
	}
	if err := s.savePeople(ctx, batch); err != nil {
		return res, err
	}
	res.Saved += len(batch)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return audit.Append(ctx, tx, s.now(), actor, "discovery.people_import", "people", "csv", map[string]int{"read": res.Read, "saved": res.Saved, "rejected": res.Rejected})
	})
	return res, err
}

// personFieldProblem says what is wrong with a name or department, or "".
func personFieldProblem(v string) string {
	switch {
	case len(v) > maxPersonField:
		return fmt.Sprintf("use at most %d characters", maxPersonField)
	case strings.ContainsFunc(v, unicode.IsControl):
		return "remove the control characters"
	}
	return ""
}

// splitGroups splits a groups cell on ";" or "|", dropping blanks and repeats.
func splitGroups(cell string) ([]string, string) {
	seen := map[string]bool{}
	for _, g := range strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == '|' }) {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if msg := personFieldProblem(g); msg != "" {
			return nil, fmt.Sprintf("group %q: %s", g, msg)
		}
		seen[g] = true
	}
	if len(seen) > maxGroups {
		return nil, fmt.Sprintf("%d groups: at most %d a person", len(seen), maxGroups)
	}
	return slices.Sorted(maps.Keys(seen)), ""
}

// savePeople upserts people and replaces the groups their source gave them, in one transaction.
func (s *Store) savePeople(ctx context.Context, people []Person) error {
	if len(people) == 0 {
		return nil
	}
	// A person listed twice in one batch keeps the last line's record.
	last := map[string]Person{}
	for _, p := range people {
		last[p.Email] = p
	}
	emails := slices.Sorted(maps.Keys(last))
	now := s.now()
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := upsertRows(ctx, tx, "save people", "INSERT INTO people (email, name, department, manager, source, updated_at) VALUES ", 6,
			` ON CONFLICT (email) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE people.name END,
				department = CASE WHEN excluded.source <> 'oidc' OR people.source = 'oidc' THEN excluded.department ELSE people.department END,
				manager = CASE WHEN excluded.source <> 'oidc' OR people.source = 'oidc' THEN excluded.manager ELSE people.manager END,
				source = CASE WHEN excluded.source <> 'oidc' THEN excluded.source ELSE people.source END,
				updated_at = excluded.updated_at`,
			len(emails), func(i int, args []any) []any {
				p := last[emails[i]]
				return append(args, p.Email, p.Name, p.Department, p.Manager, p.Source, now)
			}); err != nil {
			return err
		}
		for _, e := range emails {
			p := last[e]
			if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM person_groups WHERE email = ? AND source = ?"), p.Email, p.Source); err != nil {
				return fmt.Errorf("save groups of %s: %w", p.Email, err)
			}
		}
		var rows [][3]string
		for _, e := range emails {
			for _, g := range last[e].Groups {
				rows = append(rows, [3]string{e, g, last[e].Source})
			}
		}
		return upsertRows(ctx, tx, "save groups", "INSERT INTO person_groups (email, group_name, source) VALUES ", 3, " ON CONFLICT (email, group_name, source) DO NOTHING",
			len(rows), func(i int, args []any) []any { return append(args, rows[i][0], rows[i][1], rows[i][2]) })
	})
}

// RecordSignIn keeps what a person's ID token said at sign-in to Paved: their name and groups.
// A directory record from another source keeps its department and manager.
func (s *Store) RecordSignIn(ctx context.Context, email, name string, groups []string) error {
	email = normalizeEmail(email)
	if email == "" {
		return nil
	}
	gs, msg := splitGroups(strings.Join(groups, ";"))
	if msg != "" {
		gs = nil // a token's odd group names are not worth refusing a sign-in for
	}
	if personFieldProblem(name) != "" {
		name = ""
	}
	return s.savePeople(ctx, []Person{{Email: email, Name: name, Source: PeopleFromOIDC, Groups: gs}})
}

// PersonByEmail returns one person with their groups from every source.
func (s *Store) PersonByEmail(ctx context.Context, email string) (Person, error) {
	var p Person
	err := s.db.GetContext(ctx, &p, s.db.Rebind("SELECT email, name, department, manager, source FROM people WHERE email = ?"), strings.ToLower(strings.TrimSpace(email)))
	if db.IsNotFound(err) {
		return p, fmt.Errorf("no person %q in the directory: %w", email, err)
	}
	if err != nil {
		return p, fmt.Errorf("get person %s: %w", email, err)
	}
	if err := s.db.SelectContext(ctx, &p.Groups, s.db.Rebind("SELECT DISTINCT group_name FROM person_groups WHERE email = ? ORDER BY group_name"), p.Email); err != nil {
		return p, fmt.Errorf("groups of %s: %w", email, err)
	}
	return p, nil
}

// DepartmentUsage is how many people of one department used a discovered app.
type DepartmentUsage struct {
	Department string `db:"department" json:"department"` // "" for people the directory does not know
	Users30    int    `db:"users30" json:"users_30d"`
	UsersAll   int    `db:"users_all" json:"users_all"`
	Hidden     bool   `db:"-" json:"counts_hidden,omitempty"`
}

// Departments breaks a discovered app's people down by department. Departments with fewer than
// minUsers people show no counts (Hidden), so a small team's use cannot point at a person.
func (s *Store) Departments(ctx context.Context, id int64, minUsers int) ([]DepartmentUsage, error) {
	var out []DepartmentUsage
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT COALESCE(p.department, '') AS department,
			COUNT(CASE WHEN u.last_used >= ? THEN 1 END) AS users30, COUNT(u.last_used) AS users_all
		FROM usage_discovered_users u LEFT JOIN people p ON p.email = u.user_key
		WHERE u.discovered_app_id = ? GROUP BY COALESCE(p.department, '') ORDER BY users_all DESC, department`), s.now().AddDate(0, 0, -30), id)
	if err != nil {
		return nil, fmt.Errorf("departments of app %d: %w", id, err)
	}
	for i := range out {
		if out[i].UsersAll < minUsers {
			out[i].Users30, out[i].UsersAll, out[i].Hidden = 0, 0, true
		}
	}
	return out, nil
}

// UnknownGroups returns the names that are neither a department nor a group in the directory.
func (s *Store) UnknownGroups(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT department FROM people WHERE department IN (?)
		UNION SELECT group_name FROM person_groups WHERE group_name IN (?)`, names, names)
	if err != nil {
		return nil, err
	}
	var known []string
	if err := s.db.SelectContext(ctx, &known, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("look up groups: %w", err)
	}
	var unknown []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	return unknown, nil
}

// ShadowDepartment is how one department uses shadow IT: the people of the department who used
// an unapproved app in the last 30 days, and how many such apps they used.
type ShadowDepartment struct {
	Department string `db:"department" json:"department"` // "" for people the directory does not know
	People     int    `db:"people" json:"people_using_shadow_it"`
	Apps       int    `db:"apps" json:"shadow_apps_in_use"`
	Hidden     bool   `db:"-" json:"counts_hidden,omitempty"`
}

// ShadowDepartments breaks the overview's shadow-IT figures down by department (ignored apps
// left out, as in Overview). A department with fewer than minUsers such people shows no counts
// (Hidden), so a small team's use cannot point at a person.
func (s *Store) ShadowDepartments(ctx context.Context, minUsers int) ([]ShadowDepartment, error) {
	out := []ShadowDepartment{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT COALESCE(p.department, '') AS department,
			COUNT(DISTINCT u.user_key) AS people, COUNT(DISTINCT u.discovered_app_id) AS apps
		FROM usage_discovered_users u JOIN discovered_apps d ON d.id = u.discovered_app_id LEFT JOIN apps a ON a.id = d.app_id
		LEFT JOIN people p ON p.email = u.user_key
		WHERE u.last_used >= ? AND d.triage <> 'ignored' AND `+shadowSQL+`
		GROUP BY COALESCE(p.department, '') ORDER BY people DESC, department`), s.now().AddDate(0, 0, -30))
	if err != nil {
		return nil, fmt.Errorf("shadow IT by department: %w", err)
	}
	for i := range out {
		if out[i].People < minUsers {
			out[i].People, out[i].Apps, out[i].Hidden = 0, 0, true
		}
	}
	return out, nil
}
