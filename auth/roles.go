package auth

import (
	"slices"
	"strings"
)

// Role is what a signed-in person may do. Each role includes those before it in Roles:
// a committee member is also an employee, security also sits on the committee's side of the
// portal, and an administrator can do everything.
type Role string

// The roles, least to most powerful.
const (
	RoleEmployee  Role = "employee"
	RoleCommittee Role = "committee"
	RoleSecurity  Role = "security"
	RoleAdmin     Role = "admin"
)

// Roles lists every role in order of power.
var Roles = []Role{RoleEmployee, RoleCommittee, RoleSecurity, RoleAdmin}

func (r Role) rank() int { return slices.Index(Roles, r) }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() >= 0 }

// RoleSet is the roles a user holds, always including employee.
type RoleSet []Role

// Has reports whether the set includes r, directly or through a more powerful role.
func (s RoleSet) Has(r Role) bool {
	want := r.rank()
	if want < 0 {
		return false
	}
	for _, have := range s {
		if have.rank() >= want {
			return true
		}
	}
	return false
}

// Highest is the most powerful role held.
func (s RoleSet) Highest() Role {
	best := RoleEmployee
	for _, r := range s {
		if r.rank() > best.rank() {
			best = r
		}
	}
	return best
}

// Expand returns every role the set implies, in order: {security} → employee, committee, security.
func (s RoleSet) Expand() RoleSet {
	top := s.Highest().rank()
	return append(RoleSet(nil), Roles[:top+1]...)
}

// String encodes the set for storage: "employee,committee".
func (s RoleSet) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// ParseRoleSet decodes a stored set, ignoring unknown names.
func ParseRoleSet(v string) RoleSet {
	var out RoleSet
	for p := range strings.SplitSeq(v, ",") {
		if r := Role(strings.TrimSpace(p)); r.Valid() {
			out = append(out, r)
		}
	}
	return out.Expand()
}

// RoleMapping maps identity-provider groups to roles.
type RoleMapping struct {
	Committee, Security, Admin []string
}

// SplitGroups parses a comma-separated setting such as PAVED_ROLE_ADMIN_GROUPS.
func SplitGroups(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// RolesFor returns the roles of someone in groups. Everyone signed in is an employee; group
// names compare exactly, as identity providers treat them.
func (m RoleMapping) RolesFor(groups []string) RoleSet {
	set := RoleSet{RoleEmployee}
	for _, g := range groups {
		switch {
		case slices.Contains(m.Admin, g):
			set = append(set, RoleAdmin)
		case slices.Contains(m.Security, g):
			set = append(set, RoleSecurity)
		case slices.Contains(m.Committee, g):
			set = append(set, RoleCommittee)
		}
	}
	return set.Expand()
}
