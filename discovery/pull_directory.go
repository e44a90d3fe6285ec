package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// The directory pulls of the three kinds of source. Each reads every group and its members, and
// each person's department (and manager where the IdP has one), and returns one Person a person
// with all their groups. Paging follows each vendor's documented cursor: Okta's Link rel="next"
// header, Graph's @odata.nextLink, Google's nextPageToken.

// directory collects people by their key (the e-mail their sign-ins are counted under).
type directory struct {
	people map[string]*Person
	order  []string
}

func newDirectory() *directory { return &directory{people: map[string]*Person{}} }

func (d *directory) person(email string) *Person {
	email = normalizeEmail(email)
	if email == "" {
		return nil
	}
	p := d.people[email]
	if p == nil {
		p = &Person{Email: email}
		d.people[email] = p
		d.order = append(d.order, email)
	}
	return p
}

func (d *directory) join(p *Person, groups ...string) {
	for _, g := range groups {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(p.Groups, g) {
			p.Groups = append(p.Groups, g)
		}
	}
}

func (d *directory) list() []Person {
	out := make([]Person, 0, len(d.order))
	for _, e := range d.order {
		out = append(out, *d.people[e])
	}
	return out
}

// maxDirectoryPages bounds one listing, in case an API keeps linking a next page.
const maxDirectoryPages = 100_000

// pages fetches first and each next page that next extracts, stopping on an empty next link, a
// link already fetched, or a link to another origin (an error: the token goes nowhere else).
func (h *PullHTTP) pages(ctx context.Context, base, first string, cred *credential, each func(body []byte, next func(string)) error) error {
	seen := map[string]bool{}
	u := first
	for n := 0; u != "" && !seen[u]; n++ {
		if n >= maxDirectoryPages {
			return fmt.Errorf("GET %s: more than %d pages", redactURL(first), maxDirectoryPages)
		}
		seen[u] = true
		body, hdr, err := h.get(ctx, u, cred)
		if err != nil {
			return err
		}
		following := ""
		if l := nextLink(hdr); l != "" {
			following = l
		}
		if err := each(body, func(s string) { following = s }); err != nil {
			return err
		}
		if following != "" {
			if err := sameOrigin(base, following); err != nil {
				return err
			}
		}
		u = following
	}
	return nil
}

// oktaUser is what the directory reads of an Okta user.
type oktaUser struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
		Department  string `json:"department"`
		Manager     string `json:"manager"`
		ManagerID   string `json:"managerId"`
	} `json:"profile"`
}

// key is the e-mail the user's System Log events are counted under: actor.alternateId, the
// login, when it is an address; otherwise the profile's e-mail.
func (u oktaUser) key() string {
	if e := normalizeEmail(u.Profile.Login); e != "" {
		return e
	}
	return u.Profile.Email
}

// PullDirectory implements DirectoryPuller with the Okta Groups API: GET /api/v1/groups, then
// GET /api/v1/groups/{id}/users for each group (the members as user objects, whose profiles
// carry department, manager and managerId). A manager is kept when the profile names them by
// e-mail, or by a managerId that is the id, login or e-mail of another user of the org.
func (p *OktaPuller) PullDirectory(ctx context.Context, src Source) ([]Person, error) {
	cred := staticCredential("SSWS " + strings.TrimSpace(src.Secret))
	dir := newDirectory()
	managers := map[string]string{} // person → managerId still to resolve
	known := map[string]string{}    // user id, login or e-mail (lower case) → person
	type group struct {
		ID      string `json:"id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	var groups []group
	err := p.pages(ctx, src.BaseURL, src.BaseURL+"/api/v1/groups?limit=200", cred, func(body []byte, _ func(string)) error {
		var page []group
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("okta groups page: %w", err)
		}
		groups = append(groups, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if g.ID == "" {
			continue
		}
		first := src.BaseURL + "/api/v1/groups/" + url.PathEscape(g.ID) + "/users?limit=200"
		err := p.pages(ctx, src.BaseURL, first, cred, func(body []byte, _ func(string)) error {
			var users []oktaUser
			if err := json.Unmarshal(body, &users); err != nil {
				return fmt.Errorf("okta members of group %s: %w", g.ID, err)
			}
			for _, u := range users {
				per := dir.person(u.key())
				if per == nil {
					continue
				}
				per.Name = cmpOr(strings.TrimSpace(u.Profile.DisplayName), strings.TrimSpace(u.Profile.FirstName+" "+u.Profile.LastName))
				per.Department = strings.TrimSpace(u.Profile.Department)
				if m := normalizeEmail(u.Profile.Manager); m != "" {
					per.Manager = m
				} else if id := strings.ToLower(strings.TrimSpace(u.Profile.ManagerID)); id != "" {
					managers[per.Email] = id
				}
				for _, k := range []string{u.ID, u.Profile.Login, u.Profile.Email} {
					if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
						known[k] = per.Email
					}
				}
				dir.join(per, g.Profile.Name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for email, id := range managers {
		if m, ok := known[id]; ok && dir.people[email].Manager == "" {
			dir.people[email].Manager = m
		}
	}
	return dir.list(), nil
}

// graphPage is one page of a Graph collection.
type graphPage struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

// graphUser is what the directory reads of an Entra user.
type graphUser struct {
	Type              string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	Department        string `json:"department"`
}

// key is the e-mail the user's sign-ins are counted under: the user principal name, else mail.
func (u graphUser) key() string {
	if e := normalizeEmail(u.UserPrincipalName); e != "" {
		return e
	}
	return u.Mail
}

// graphSelectUser is what is asked of each user.
const graphSelectUser = "id,displayName,userPrincipalName,mail,department"

// PullDirectory implements DirectoryPuller with Microsoft Graph: GET /v1.0/users (department),
// GET /v1.0/groups, and GET /v1.0/groups/{id}/transitiveMembers for each group, so members of
// nested groups count as members. Members that are not users (devices, service principals,
// groups) are skipped. It needs the application permissions User.Read.All and
// GroupMember.Read.All, both within Directory.Read.All.
func (p *EntraPuller) PullDirectory(ctx context.Context, src Source) ([]Person, error) {
	cred, _, err := p.entraCredential(ctx, src)
	if err != nil {
		return nil, err
	}
	dir := newDirectory()
	byID := map[string]*Person{}
	users := src.BaseURL + "/v1.0/users?" + url.Values{"$select": {graphSelectUser}, "$top": {"999"}}.Encode()
	err = p.pages(ctx, src.BaseURL, users, cred, func(body []byte, next func(string)) error {
		var pg graphPage
		if err := json.Unmarshal(body, &pg); err != nil {
			return fmt.Errorf("graph users page: %w", err)
		}
		for _, raw := range pg.Value {
			var u graphUser
			if json.Unmarshal(raw, &u) != nil {
				continue
			}
			if per := dir.person(u.key()); per != nil {
				per.Name, per.Department = strings.TrimSpace(u.DisplayName), strings.TrimSpace(u.Department)
				byID[strings.ToLower(u.ID)] = per
			}
		}
		next(pg.NextLink)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	type group struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	var groups []group
	list := src.BaseURL + "/v1.0/groups?" + url.Values{"$select": {"id,displayName"}, "$top": {"999"}}.Encode()
	err = p.pages(ctx, src.BaseURL, list, cred, func(body []byte, next func(string)) error {
		var pg graphPage
		if err := json.Unmarshal(body, &pg); err != nil {
			return fmt.Errorf("graph groups page: %w", err)
		}
		for _, raw := range pg.Value {
			var g group
			if json.Unmarshal(raw, &g) == nil && g.ID != "" {
				groups = append(groups, g)
			}
		}
		next(pg.NextLink)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	for _, g := range groups {
		members := src.BaseURL + "/v1.0/groups/" + url.PathEscape(g.ID) + "/transitiveMembers?" + url.Values{"$select": {graphSelectUser}, "$top": {"999"}}.Encode()
		err := p.pages(ctx, src.BaseURL, members, cred, func(body []byte, next func(string)) error {
			var pg graphPage
			if err := json.Unmarshal(body, &pg); err != nil {
				return fmt.Errorf("graph members page: %w", err)
			}
			for _, raw := range pg.Value {
				var u graphUser
				if json.Unmarshal(raw, &u) != nil || u.Type != "#microsoft.graph.user" {
					continue
				}
				per := byID[strings.ToLower(u.ID)]
				if per == nil { // a user created since the user listing
					if per = dir.person(u.key()); per == nil {
						continue
					}
					per.Name, per.Department = strings.TrimSpace(u.DisplayName), strings.TrimSpace(u.Department)
					byID[strings.ToLower(u.ID)] = per
				}
				dir.join(per, g.DisplayName)
			}
			next(pg.NextLink)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("members of group %s: %w", g.ID, err)
		}
	}
	return dir.list(), nil
}

// googleUser is what the directory reads of a Workspace user.
type googleUser struct {
	PrimaryEmail string `json:"primaryEmail"`
	Name         struct {
		FullName string `json:"fullName"`
	} `json:"name"`
	OrgUnitPath   string `json:"orgUnitPath"`
	Organizations []struct {
		Department string `json:"department"`
		Primary    bool   `json:"primary"`
	} `json:"organizations"`
	Relations []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"relations"`
}

// department is the primary organisation's department, else any organisation's, else the
// organisational unit's path without its leading slash ("" for the root unit).
func (u googleUser) department() string {
	orgs := slices.Clone(u.Organizations)
	slices.SortStableFunc(orgs, func(a, b struct {
		Department string `json:"department"`
		Primary    bool   `json:"primary"`
	}) int {
		switch {
		case a.Primary == b.Primary:
			return 0
		case a.Primary:
			return -1
		}
		return 1
	})
	for _, o := range orgs {
		if d := strings.TrimSpace(o.Department); d != "" {
			return d
		}
	}
	return strings.Trim(strings.TrimSpace(u.OrgUnitPath), "/")
}

// PullDirectory implements DirectoryPuller with the Admin SDK Directory API: users.list (GET
// /admin/directory/v1/users?customer=my_customer: department from organizations or orgUnitPath,
// the manager from relations), groups.list (GET /admin/directory/v1/groups) and members.list for
// each group (GET /admin/directory/v1/groups/{groupKey}/members, with includeDerivedMembership so
// members of nested groups count). A group is recorded under its name and its address, so a
// condition may name either. It needs the service account's delegation to include
// GoogleDirectoryScopes.
func (p *GooglePuller) PullDirectory(ctx context.Context, src Source) ([]Person, error) {
	cred, err := p.googleCredential(ctx, src, GoogleDirectoryScopes...)
	if err != nil {
		return nil, err
	}
	dir := newDirectory()
	page := func(path string, q url.Values, each func(body []byte) (string, error)) error {
		first := src.BaseURL + path + "?" + q.Encode()
		return p.pages(ctx, src.BaseURL, first, cred, func(body []byte, next func(string)) error {
			token, err := each(body)
			if err != nil || token == "" {
				return err
			}
			q.Set("pageToken", token)
			next(src.BaseURL + path + "?" + q.Encode())
			return nil
		})
	}
	err = page("/admin/directory/v1/users", url.Values{"customer": {"my_customer"}, "maxResults": {"500"}}, func(body []byte) (string, error) {
		var pg struct {
			Users         []googleUser `json:"users"`
			NextPageToken string       `json:"nextPageToken"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return "", fmt.Errorf("google users page: %w", err)
		}
		for _, u := range pg.Users {
			per := dir.person(u.PrimaryEmail)
			if per == nil {
				continue
			}
			per.Name, per.Department = strings.TrimSpace(u.Name.FullName), u.department()
			for _, r := range u.Relations {
				if r.Type == "manager" && normalizeEmail(r.Value) != "" {
					per.Manager = normalizeEmail(r.Value)
				}
			}
		}
		return pg.NextPageToken, nil
	})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	type group struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	var groups []group
	err = page("/admin/directory/v1/groups", url.Values{"customer": {"my_customer"}, "maxResults": {"200"}}, func(body []byte) (string, error) {
		var pg struct {
			Groups        []group `json:"groups"`
			NextPageToken string  `json:"nextPageToken"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return "", fmt.Errorf("google groups page: %w", err)
		}
		groups = append(groups, pg.Groups...)
		return pg.NextPageToken, nil
	})
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	for _, g := range groups {
		key := cmpOr(g.ID, g.Email)
		if key == "" {
			continue
		}
		names := []string{g.Name, strings.ToLower(g.Email)}
		err := page("/admin/directory/v1/groups/"+url.PathEscape(key)+"/members", url.Values{"maxResults": {"200"}, "includeDerivedMembership": {"true"}}, func(body []byte) (string, error) {
			var pg struct {
				Members []struct {
					Email string `json:"email"`
					Type  string `json:"type"`
				} `json:"members"`
				NextPageToken string `json:"nextPageToken"`
			}
			if err := json.Unmarshal(body, &pg); err != nil {
				return "", fmt.Errorf("google members page: %w", err)
			}
			for _, m := range pg.Members {
				switch m.Type {
				case "USER":
					if per := dir.person(m.Email); per != nil {
						dir.join(per, names...)
					}
				case "CUSTOMER": // every user of the account is a member
					for _, e := range dir.order {
						dir.join(dir.people[e], names...)
					}
				}
			}
			return pg.NextPageToken, nil
		})
		if err != nil {
			return nil, fmt.Errorf("members of group %s: %w", cmpOr(g.Email, g.ID), err)
		}
	}
	return dir.list(), nil
}
