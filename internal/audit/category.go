package audit

import "strings"

// Category groups actions for people reading the log: they think "requests" or "sign-ins",
// not "request.pledge_withdraw".
type Category struct {
	Key, Label string
	// prefixes are the action prefixes the category holds; admin holds everything else.
	prefixes []string
}

// Categories are the groups of actions, in the order the filter lists them.
var Categories = []Category{
	{Key: "requests", Label: "Requests", prefixes: []string{"request."}},
	{Key: "catalogue", Label: "Catalogue", prefixes: []string{"app.", "catalog.", "category."}},
	{Key: "discovery", Label: "Discovery", prefixes: []string{"discovery."}},
	{Key: "actions", Label: "Actions at providers", prefixes: []string{"action."}},
	{Key: "signin", Label: "Sign-in", prefixes: []string{"user.sign_", "session."}},
	{Key: "admin", Label: "Administration"},
}

// CategoryOf is the category an action belongs to.
func CategoryOf(action string) Category {
	for _, c := range Categories {
		for _, p := range c.prefixes {
			if strings.HasPrefix(action, p) {
				return c
			}
		}
	}
	return Categories[len(Categories)-1]
}

// categoryByKey finds a category; ok is false for an unknown key.
func categoryByKey(key string) (Category, bool) {
	for _, c := range Categories {
		if c.Key == key {
			return c, true
		}
	}
	return Category{}, false
}

// likeClause is SQL matching actions under any of prefixes, with its arguments.
func likeClause(prefixes []string) (string, []any) {
	parts := make([]string, len(prefixes))
	args := make([]any, len(prefixes))
	for i, p := range prefixes {
		parts[i], args[i] = "action LIKE ?", p+"%"
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// categoryClause is SQL selecting the actions of c (admin: those of no other category).
func categoryClause(c Category) (string, []any) {
	if len(c.prefixes) > 0 {
		return likeClause(c.prefixes)
	}
	var all []string
	for _, o := range Categories {
		all = append(all, o.prefixes...)
	}
	sql, args := likeClause(all)
	return "NOT " + sql, args
}
