package auth

import (
	"slices"
	"testing"
)

func TestRolesFor(t *testing.T) {
	m := RoleMapping{Committee: []string{"paved-committee"}, Security: []string{"paved-security", "secops"}, Admin: []string{"paved-admins"}}
	tests := []struct {
		groups []string
		want   RoleSet
	}{
		{nil, RoleSet{RoleEmployee}},
		{[]string{"paved-employees", "engineering"}, RoleSet{RoleEmployee}},
		{[]string{"paved-committee"}, RoleSet{RoleEmployee, RoleCommittee}},
		{[]string{"secops"}, RoleSet{RoleEmployee, RoleCommittee, RoleSecurity}},
		{[]string{"paved-committee", "paved-admins"}, RoleSet{RoleEmployee, RoleCommittee, RoleSecurity, RoleAdmin}},
		{[]string{"Paved-Admins"}, RoleSet{RoleEmployee}}, // group names are exact
	}
	for _, tt := range tests {
		if got := m.RolesFor(tt.groups); !slices.Equal(got, tt.want) {
			t.Errorf("RolesFor(%v) = %v, want %v", tt.groups, got, tt.want)
		}
	}
}

func TestRoleSetHas(t *testing.T) {
	s := RoleSet{RoleEmployee, RoleCommittee}
	for r, want := range map[Role]bool{RoleEmployee: true, RoleCommittee: true, RoleSecurity: false, RoleAdmin: false, Role("root"): false} {
		if got := s.Has(r); got != want {
			t.Errorf("%v.Has(%s) = %v, want %v", s, r, got, want)
		}
	}
	if got := ParseRoleSet("admin"); !got.Has(RoleSecurity) || got.String() != "employee,committee,security,admin" {
		t.Errorf("ParseRoleSet(admin) = %v", got)
	}
	if got := ParseRoleSet("bogus,,"); got.String() != "employee" {
		t.Errorf("ParseRoleSet(bogus) = %v, want employee", got)
	}
}
