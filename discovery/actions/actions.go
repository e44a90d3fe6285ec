package actions

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// State is where an action is in its life.
type State string

// The states of an action. previewed → approved → running → done | partial | failed; done or
// partial → undoing → undone (or partial when some undo failed); a preview nobody approves in
// time becomes expired.
const (
	StatePreviewed State = "previewed"
	StateApproved  State = "approved"
	StateRunning   State = "running"
	StateDone      State = "done"
	StatePartial   State = "partial"
	StateFailed    State = "failed"
	StateUndoing   State = "undoing"
	StateUndone    State = "undone"
	StateExpired   State = "expired"
)

// Label is the state in words.
func (s State) Label() string {
	switch s {
	case StatePreviewed:
		return "waiting for approval"
	case StatePartial:
		return "partly done"
	}
	return string(s)
}

// Busy reports whether a job is (or is about to be) working on the action.
func (s State) Busy() bool { return s == StateApproved || s == StateRunning || s == StateUndoing }

// Step statuses.
const (
	StepPending = "pending"
	StepDone    = "done"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// Who the action is for.
const (
	PeopleEveryone = "everyone" // everyone the provider knows to hold a grant or assignment
	PeopleFinding  = "finding"  // the people of a finding
	PeopleList     = "list"     // a list of e-mail addresses
)

// ApprovalWindow is how long a preview can be approved: after that the provider may have
// changed too much for the preview to still say what would happen.
const ApprovalWindow = 24 * time.Hour

// KindInfo describes a kind for people choosing one.
type KindInfo struct {
	Kind   Kind
	Source string // the discovery source kind that can do it
	Label  string
	// AppWide kinds change the app itself or every assignment, not one person's grant.
	AppWide bool
	// Warning is said before approval (Google's tokens cannot be given back).
	Warning string
}

// Kinds lists what security can do, by provider.
var KindInfos = []KindInfo{
	{GoogleRevokeTokens, discovery.FormatGoogle, "Revoke the OAuth tokens people granted to the app", false,
		"Revoked Google tokens cannot be restored: people would have to grant access again themselves. This cannot be undone."},
	{EntraRemoveGrants, discovery.FormatEntra, "Remove the delegated permission grants people gave the app", false, ""},
	{EntraRemoveAssignments, discovery.FormatEntra, "Remove the users' and groups' assignments to the app", false, ""},
	{EntraDisableSignIn, discovery.FormatEntra, "Disable sign-in to the app for everyone", true, ""},
	{OktaRemoveAssignments, discovery.FormatOkta, "Remove the users' and groups' assignments to the app", false, ""},
	{OktaDeactivateApp, discovery.FormatOkta, "Deactivate the app for everyone", true, ""},
}

// InfoOf returns the description of k.
func InfoOf(k Kind) (KindInfo, bool) {
	i := slices.IndexFunc(KindInfos, func(x KindInfo) bool { return x.Kind == k })
	if i < 0 {
		return KindInfo{}, false
	}
	return KindInfos[i], true
}

// KindsFor lists the kinds that can act on a discovered app: those of the providers it was seen
// at, under an id that provider knows it by.
func KindsFor(app discovery.DiscoveredApp) []KindInfo {
	var out []KindInfo
	for _, k := range KindInfos {
		for _, u := range app.Sources {
			if strings.HasPrefix(u.Identifier, identifierPrefix[k.Source]) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// identifierPrefix is the discovery identifier kind that names an app at each source kind.
var identifierPrefix = map[string]string{
	discovery.FormatGoogle: discovery.KeyGoogle,
	discovery.FormatEntra:  discovery.KeyEntra,
	discovery.FormatOkta:   discovery.KeyOkta,
}

// Request asks for a preview. It starts from a discovered app, a catalogue app (a "not
// approved" decision) or a finding; App may name the provider's app id directly instead.
type Request struct {
	Kind            Kind     `json:"kind"`
	SourceID        int64    `json:"source"`
	DiscoveredAppID int64    `json:"discovered_app_id,omitempty"`
	AppSlug         string   `json:"app_slug,omitempty"`
	FindingID       int64    `json:"finding_id,omitempty"`
	App             string   `json:"app,omitempty"`
	People          string   `json:"people"` // everyone, finding or list
	Emails          []string `json:"emails,omitempty"`
	Reason          string   `json:"reason"`
}

// maxReason bounds the reason people are told.
const maxReason = 2000

// maxPeople bounds a list of people.
const maxPeople = 5000

// check validates what can be checked without the database.
func (r *Request) check() (KindInfo, error) {
	f := errs.Fields{}
	info, ok := InfoOf(r.Kind)
	if !ok {
		f.Add("kind", "Choose what to do.")
	}
	if r.SourceID <= 0 {
		f.Add("source", "Choose the source whose credentials act.")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if r.Reason == "" || len(r.Reason) > maxReason {
		f.Add("reason", "Say why, in at most 2,000 characters: the people affected are told.")
	}
	r.App = strings.TrimSpace(r.App)
	if r.People == "" {
		r.People = PeopleEveryone
	}
	switch r.People {
	case PeopleEveryone:
		r.Emails = nil
	case PeopleFinding:
		if r.FindingID <= 0 {
			f.Add("people", "Choose the finding whose people are concerned.")
		}
	case PeopleList:
		list, bad := cleanEmails(r.Emails)
		switch {
		case bad != "":
			f.Add("emails", "Not an e-mail address: "+bad)
		case len(list) == 0:
			f.Add("emails", "List at least one e-mail address.")
		case len(list) > maxPeople:
			f.Add("emails", "List at most 5,000 people.")
		}
		r.Emails = list
	default:
		f.Add("people", "Choose everyone, the people of a finding, or a list.")
	}
	if ok && info.AppWide && r.People != PeopleEveryone {
		f.Add("people", "This action is for the whole app; choose everyone.")
	}
	if r.DiscoveredAppID <= 0 && r.AppSlug == "" && r.FindingID <= 0 && r.App == "" {
		f.Add("app", "Start from a discovered app, a catalogue app or a finding, or name the provider's app id.")
	}
	return info, f.Err()
}

// SplitEmails reads addresses separated by commas, semicolons, spaces or lines.
func SplitEmails(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// cleanEmails lower-cases and deduplicates addresses, returning the first that is not one.
func cleanEmails(in []string) ([]string, string) {
	var out []string
	for _, raw := range in {
		for _, e := range SplitEmails(raw) {
			a, err := mail.ParseAddress(e)
			if err != nil || a.Address != e {
				return nil, e
			}
			e = strings.ToLower(e)
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out, ""
}

// Alternative is an approved app named to people instead.
type Alternative struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Action is a decision on its way to a provider.
type Action struct {
	ID              int64         `db:"id" json:"id"`
	Kind            Kind          `db:"kind" json:"kind"`
	SourceID        int64         `db:"source_id" json:"source_id"`
	SourceName      string        `db:"source_name" json:"source_name"`
	DiscoveredAppID *int64        `db:"discovered_app_id" json:"discovered_app_id,omitempty"`
	FindingID       *int64        `db:"finding_id" json:"finding_id,omitempty"`
	TargetApp       string        `db:"target_app" json:"target_app"`
	AppName         string        `db:"app_name" json:"app_name"`
	AltText         string        `db:"alternatives" json:"-"`
	ExceptionURL    string        `db:"exception_url" json:"exception_url"`
	PeopleMode      string        `db:"people_mode" json:"people"`
	PeopleText      string        `db:"people" json:"-"`
	Reason          string        `db:"reason" json:"reason"`
	State           State         `db:"state" json:"state"`
	StartedBy       string        `db:"started_by" json:"started_by"`
	StartedByID     *int64        `db:"started_by_id" json:"-"`
	ApprovedBy      string        `db:"approved_by" json:"approved_by,omitempty"`
	ApprovedByID    *int64        `db:"approved_by_id" json:"-"`
	ApprovedAt      *db.Timestamp `db:"approved_at" json:"approved_at,omitempty"`
	ExpiresAt       db.Timestamp  `db:"expires_at" json:"expires_at"`
	FinishedAt      *db.Timestamp `db:"finished_at" json:"finished_at,omitempty"`
	LastError       string        `db:"last_error" json:"last_error,omitempty"`
	CreatedAt       db.Timestamp  `db:"created_at" json:"created_at"`
	UpdatedAt       db.Timestamp  `db:"updated_at" json:"updated_at"`

	Alternatives []Alternative `db:"-" json:"alternatives"`
	Emails       []string      `db:"-" json:"emails,omitempty"`
	Steps        []StepRecord  `db:"-" json:"steps,omitempty"`
	Counts       StepCounts    `db:"-" json:"counts"`
}

// Info describes the action's kind.
func (a Action) Info() KindInfo {
	i, _ := InfoOf(a.Kind)
	return i
}

// Undoable reports whether some done step can still be undone.
func (a Action) Undoable() bool {
	for _, s := range a.Steps {
		if s.CanUndo() {
			return true
		}
	}
	return false
}

// StepCounts sums an action's steps by status.
type StepCounts struct {
	Total   int `json:"total"`
	Pending int `json:"pending"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Undone  int `json:"undone"`
	People  int `json:"people"`
}

// StepRecord is a Step as stored, with its result.
type StepRecord struct {
	ID          int64         `db:"id" json:"id"`
	ActionID    int64         `db:"action_id" json:"-"`
	Position    int           `db:"position" json:"position"`
	Person      string        `db:"person" json:"person,omitempty"`
	Object      string        `db:"object" json:"object"`
	ObjectID    string        `db:"object_id" json:"object_id"`
	Description string        `db:"description" json:"description"`
	Data        string        `db:"data" json:"-"`
	UndoData    string        `db:"undo" json:"-"`
	Status      string        `db:"status" json:"status"`
	Attempts    int           `db:"attempts" json:"attempts"`
	LastError   string        `db:"last_error" json:"last_error,omitempty"`
	DoneAt      *db.Timestamp `db:"done_at" json:"done_at,omitempty"`
	UndoneAt    *db.Timestamp `db:"undone_at" json:"undone_at,omitempty"`
	NotifiedAt  *db.Timestamp `db:"notified_at" json:"-"`
}

// CanUndo reports whether the step was done, can be reversed and has not been.
func (s StepRecord) CanUndo() bool {
	return s.Status == StepDone && s.UndoData != "" && s.UndoneAt == nil
}

// step is the record as the Provider sees it.
func (s StepRecord) step() Step {
	st := Step{Person: s.Person, Object: s.Object, ObjectID: s.ObjectID, Description: s.Description}
	if s.Data != "" {
		st.Data = []byte(s.Data)
	}
	if s.UndoData != "" {
		st.Undo = []byte(s.UndoData)
	}
	return st
}

func (a *Action) count() {
	c := StepCounts{Total: len(a.Steps)}
	people := map[string]bool{}
	for _, s := range a.Steps {
		switch s.Status {
		case StepPending:
			c.Pending++
		case StepDone:
			c.Done++
		case StepFailed:
			c.Failed++
		case StepSkipped:
			c.Skipped++
		}
		if s.UndoneAt != nil {
			c.Undone++
		}
		if s.Person != "" {
			people[s.Person] = true
		}
	}
	c.People = len(people)
	a.Counts = c
}

// Notice is what a person's home page says about an action that reached them.
type Notice struct {
	ActionID     int64
	AppName      string
	Reason       string
	Alternatives []Alternative
	ExceptionURL string
	At           time.Time
}
