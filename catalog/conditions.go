package catalog

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Kinds of checkable condition.
const (
	ConditionSeatLimit       = "seat_limit"       // at most N distinct people in 30 days
	ConditionAllowedGroups   = "allowed_groups"   // only members of listed departments or groups
	ConditionForbiddenScopes = "forbidden_scopes" // no grant that includes any of these OAuth scopes
	ConditionPilotEnd        = "pilot_end"        // no use after the pilot's end
)

// ConditionKinds lists them.
var ConditionKinds = []string{ConditionSeatLimit, ConditionAllowedGroups, ConditionForbiddenScopes, ConditionPilotEnd}

// Conditions are the checkable conditions of an app approved with conditions, beside the text
// people read. Each is optional; discovery holds usage against them.
type Conditions struct {
	SeatLimit       *int       `db:"seat_limit" json:"seat_limit,omitempty"`
	AllowedGroups   []string   `db:"-" json:"allowed_groups,omitempty"`
	ForbiddenScopes []string   `db:"-" json:"forbidden_scopes,omitempty"`
	PilotEnd        *time.Time `db:"pilot_end" json:"pilot_end,omitempty"`
}

// Empty reports whether no condition is set.
func (c Conditions) Empty() bool {
	return c.SeatLimit == nil && len(c.AllowedGroups) == 0 && len(c.ForbiddenScopes) == 0 && c.PilotEnd == nil
}

// GroupDirectory tells which departments and groups the people directory knows.
type GroupDirectory interface {
	UnknownGroups(ctx context.Context, names []string) ([]string, error)
}

// SetGroupDirectory sets the directory that conditions naming groups are checked against.
func (s *Service) SetGroupDirectory(d GroupDirectory) { s.groups = d }

const (
	maxSeatLimit     = 1_000_000
	maxConditionList = 50
	maxScopeLen      = 300
)

// validate checks conditions on their own and against the directory.
func (s *Service) validateConditions(ctx context.Context, c *Conditions) error {
	f := errs.Fields{}
	if c.SeatLimit != nil && (*c.SeatLimit < 0 || *c.SeatLimit > maxSeatLimit) {
		f.Add("seat_limit", fmt.Sprintf("Use a number of people from 0 to %d.", maxSeatLimit))
	}
	c.AllowedGroups = cleanList(c.AllowedGroups)
	c.ForbiddenScopes = cleanList(c.ForbiddenScopes)
	if len(c.AllowedGroups) > maxConditionList {
		f.Add("allowed_groups", fmt.Sprintf("List at most %d departments or groups.", maxConditionList))
	} else if len(c.AllowedGroups) > 0 && s.groups != nil {
		unknown, err := s.groups.UnknownGroups(ctx, c.AllowedGroups)
		if err != nil {
			return err
		}
		if len(unknown) > 0 {
			f.Add("allowed_groups", fmt.Sprintf("The people directory knows no department or group %s.", strings.Join(quoteAll(unknown), ", ")))
		}
	}
	for _, sc := range c.ForbiddenScopes {
		if len(sc) > maxScopeLen || strings.ContainsFunc(sc, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }) {
			f.Add("forbidden_scopes", fmt.Sprintf("%q is not an OAuth scope: a scope is one word or URL, without spaces or quotes.", sc))
			break
		}
	}
	if len(c.ForbiddenScopes) > maxConditionList {
		f.Add("forbidden_scopes", fmt.Sprintf("List at most %d scopes.", maxConditionList))
	}
	if c.PilotEnd != nil {
		t := c.PilotEnd.UTC()
		c.PilotEnd = &t
	}
	return f.Err()
}

func cleanList(in []string) []string {
	var out []string
	for _, v := range in {
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
			if p := strings.TrimSpace(part); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// SetConditions replaces the checkable conditions of an app approved with conditions; empty
// conditions remove them. Anything else is refused with field errors.
func (s *Service) SetConditions(ctx context.Context, actor audit.Actor, slug string, c Conditions) (Conditions, error) {
	if err := s.validateConditions(ctx, &c); err != nil {
		return c, err
	}
	a, err := s.App(ctx, slug)
	if err != nil {
		return c, err
	}
	if a.Status != StatusApprovedWithConditions && !c.Empty() {
		return c, errs.E(errs.Conflict, "%s is %s: checkable conditions go with an approval with conditions.", a.Name, strings.ReplaceAll(string(a.Status), "_", " "))
	}
	err = s.change(ctx, actor, "app.conditions", slug, c, func(tx *sqlx.Tx) error {
		return SaveConditionsTx(ctx, tx, a.ID, c, s.now())
	})
	return c, err
}

// SaveConditionsTx stores an app's checkable conditions inside tx, as they are: the caller has
// validated them (ParseConditions) and checked the app's status. Empty conditions remove them.
func SaveConditionsTx(ctx context.Context, tx *sqlx.Tx, appID int64, c Conditions, now time.Time) error {
	if c.Empty() {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM app_conditions WHERE app_id = ?"), appID); err != nil {
			return fmt.Errorf("remove conditions of app %d: %w", appID, err)
		}
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO app_conditions (app_id, seat_limit, allowed_groups, forbidden_scopes, pilot_end, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id) DO UPDATE SET seat_limit = excluded.seat_limit, allowed_groups = excluded.allowed_groups,
		forbidden_scopes = excluded.forbidden_scopes, pilot_end = excluded.pilot_end, updated_at = excluded.updated_at`),
		appID, c.SeatLimit, strings.Join(c.AllowedGroups, "\n"), strings.Join(c.ForbiddenScopes, "\n"), c.PilotEnd, now)
	if err != nil {
		return fmt.Errorf("save conditions of app %d: %w", appID, err)
	}
	return nil
}

// ConditionsInput is checkable conditions as typed in a form: a number of people, departments
// or groups and scopes one a line (or separated by commas), a date such as 2027-06-30.
type ConditionsInput struct {
	SeatLimit, AllowedGroups, ForbiddenScopes, PilotEnd string
}

// Empty reports whether nothing was typed.
func (in ConditionsInput) Empty() bool {
	return strings.TrimSpace(in.SeatLimit+in.AllowedGroups+in.ForbiddenScopes+in.PilotEnd) == ""
}

// InputOfConditions gives the form's text for stored conditions.
func InputOfConditions(c Conditions) ConditionsInput {
	in := ConditionsInput{AllowedGroups: strings.Join(c.AllowedGroups, "\n"), ForbiddenScopes: strings.Join(c.ForbiddenScopes, "\n")}
	if c.SeatLimit != nil {
		in.SeatLimit = strconv.Itoa(*c.SeatLimit)
	}
	if c.PilotEnd != nil {
		in.PilotEnd = c.PilotEnd.UTC().Format(time.DateOnly)
	}
	return in
}

// ParseConditions reads conditions typed in a form and validates them as the API does, with a
// field error (seat_limit, allowed_groups, forbidden_scopes, pilot_end) for each bad one.
func (s *Service) ParseConditions(ctx context.Context, in ConditionsInput) (Conditions, error) {
	var c Conditions
	f := errs.Fields{}
	if v := strings.TrimSpace(in.SeatLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Add("seat_limit", "Use a whole number of people, such as 25.")
		} else {
			c.SeatLimit = &n
		}
	}
	c.AllowedGroups, c.ForbiddenScopes = []string{in.AllowedGroups}, []string{in.ForbiddenScopes}
	if v := strings.TrimSpace(in.PilotEnd); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Add("pilot_end", "Use a date such as 2027-06-30.")
		} else {
			c.PilotEnd = &t
		}
	}
	err := s.validateConditions(ctx, &c)
	if e, ok := errs.As(err); ok && e.Code == errs.Invalid {
		for k, v := range e.Fields {
			f.Add(k, v)
		}
	} else if err != nil {
		return c, err
	}
	if err := f.Err(); err != nil {
		return c, err
	}
	return c, nil
}

// Describe says each condition in a short phrase for people: "at most 5 people in 30 days".
func (c Conditions) Describe() []string {
	var out []string
	if c.SeatLimit != nil {
		out = append(out, c.Phrase(ConditionSeatLimit))
	}
	if len(c.AllowedGroups) > 0 {
		out = append(out, c.Phrase(ConditionAllowedGroups))
	}
	if len(c.ForbiddenScopes) > 0 {
		out = append(out, c.Phrase(ConditionForbiddenScopes))
	}
	if c.PilotEnd != nil {
		out = append(out, c.Phrase(ConditionPilotEnd))
	}
	return out
}

// Phrase says one condition of kind in words, or "" when it is not set.
func (c Conditions) Phrase(kind string) string {
	switch kind {
	case ConditionSeatLimit:
		if c.SeatLimit != nil {
			if *c.SeatLimit == 1 {
				return "at most 1 person in 30 days"
			}
			return fmt.Sprintf("at most %d people in 30 days", *c.SeatLimit)
		}
	case ConditionAllowedGroups:
		if len(c.AllowedGroups) > 0 {
			return "only for " + strings.Join(c.AllowedGroups, ", ")
		}
	case ConditionForbiddenScopes:
		if len(c.ForbiddenScopes) > 0 {
			return "no access granted with " + strings.Join(c.ForbiddenScopes, ", ")
		}
	case ConditionPilotEnd:
		if c.PilotEnd != nil {
			return "a pilot until " + c.PilotEnd.UTC().Format("2 January 2006")
		}
	}
	return ""
}

// ConditionsOf returns an app's checkable conditions (empty when none are set).
func (s *Service) ConditionsOf(ctx context.Context, appID int64) (Conditions, error) {
	var row struct {
		Conditions
		Groups string `db:"allowed_groups"`
		Scopes string `db:"forbidden_scopes"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind("SELECT seat_limit, allowed_groups, forbidden_scopes, pilot_end FROM app_conditions WHERE app_id = ?"), appID)
	if db.IsNotFound(err) {
		return Conditions{}, nil
	}
	if err != nil {
		return Conditions{}, fmt.Errorf("conditions of app %d: %w", appID, err)
	}
	c := row.Conditions
	c.AllowedGroups, c.ForbiddenScopes = cleanList([]string{row.Groups}), cleanList([]string{row.Scopes})
	return c, nil
}
