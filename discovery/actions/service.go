package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
)

// SourceLoader returns a discovery source with its secret, ready to act, or an error saying
// why it may not: unknown, not allowed to act, or without credentials.
type SourceLoader func(ctx context.Context, id int64) (discovery.Source, error)

// Deps are what the service is built from.
type Deps struct {
	DB        *db.DB
	Jobs      *jobs.Jobs
	Discovery *discovery.Store
	// Catalog names the approved alternatives people are told about; nil names none.
	Catalog *catalog.Service
	// Providers act, by discovery source kind (okta, entra, google).
	Providers map[string]Provider
	Sources   SourceLoader
	// Notifier tells the people affected; nil tells nobody (notifications are off).
	Notifier *notify.Notifier
	Logger   *slog.Logger
}

// Service previews, approves, carries out and undoes actions.
type Service struct {
	db        *db.DB
	jobs      *jobs.Jobs
	discovery *discovery.Store
	catalog   *catalog.Service
	providers map[string]Provider
	sources   SourceLoader
	notifier  *notify.Notifier
	log       *slog.Logger
	owner     string // names this process's leases
	// Now is the clock; tests set it.
	Now func() time.Time
	// afterStep, when set, runs after each recorded step; an error stops the job there as a
	// crash would. Tests use it.
	afterStep func(actionID int64, done int) error
}

// New returns the service.
func New(d Deps) *Service {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d.DB, jobs: d.Jobs, discovery: d.Discovery, catalog: d.Catalog, providers: d.Providers,
		sources: d.Sources, notifier: d.Notifier, log: log, owner: newOwner(), Now: time.Now}
}

func (s *Service) now() time.Time { return db.Time(s.Now()) }

// ErrSelfApproval is returned when the person who started an action tries to approve it.
var ErrSelfApproval = errors.New("the person who started an action cannot approve it")

// previewTimeout bounds the live reading of a preview, which a person waits for.
const previewTimeout = 2 * time.Minute

// Preview reads from the provider what the action would change and stores it, with its steps,
// for a second security member to approve. Nothing is stored when anything fails.
func (s *Service) Preview(ctx context.Context, actor audit.Actor, r Request) (Action, error) {
	info, err := r.check()
	if err != nil {
		return Action{}, err
	}
	a := Action{Kind: r.Kind, SourceID: r.SourceID, PeopleMode: r.People, Reason: r.Reason, State: StatePreviewed,
		StartedBy: actor.Name, StartedByID: actor.UserID}
	target := Target{App: r.App}

	// Where it starts: a finding names the app and perhaps the people; a catalogue app its
	// discovered app.
	var finding *discovery.Finding
	if r.FindingID > 0 {
		f, err := s.discovery.Finding(ctx, r.FindingID)
		if err != nil {
			return Action{}, fieldError(err, "finding_id")
		}
		finding, a.FindingID = &f, &f.ID
		if r.AppSlug == "" && r.DiscoveredAppID == 0 {
			r.AppSlug = f.AppSlug
		}
	}
	if r.People == PeopleFinding {
		if finding == nil {
			return Action{}, errInvalid("people", "Choose the finding whose people are concerned.")
		}
		target.People = finding.People()
		if len(target.People) == 0 {
			return Action{}, errInvalid("people", "The finding names nobody.")
		}
	} else if r.People == PeopleList {
		target.People = r.Emails
	}
	if r.DiscoveredAppID == 0 && r.AppSlug != "" {
		if r.DiscoveredAppID, err = discoveredAppOfSlug(ctx, s.db, r.AppSlug); err != nil && target.App == "" {
			return Action{}, fieldError(err, "app")
		}
	}
	var slug string
	if r.DiscoveredAppID > 0 {
		app, err := s.discovery.App(ctx, r.DiscoveredAppID)
		if err != nil {
			return Action{}, fieldError(err, "discovered_app_id")
		}
		a.DiscoveredAppID, a.AppName, slug = &app.ID, app.Name, app.CatalogueSlug()
		if app.AppName != nil {
			a.AppName = *app.AppName
		}
		if target.App, err = appIDOf(app, info.Source, target.App); err != nil {
			return Action{}, err
		}
	}
	if a.AppName == "" {
		a.AppName = target.App
	}
	a.TargetApp = target.App
	a.PeopleText = strings.Join(target.People, "\n")

	src, err := s.sources(ctx, r.SourceID)
	if err != nil {
		return Action{}, fieldError(err, "source")
	}
	if src.Kind != info.Source {
		return Action{}, errInvalid("source", fmt.Sprintf("%q is a %s source; this action needs a %s one.", src.Name, src.Kind, info.Source))
	}
	a.SourceName = src.Name
	p := s.providers[src.Kind]
	if p == nil {
		return Action{}, errInvalid("source", fmt.Sprintf("Paved cannot act through %s sources.", src.Kind))
	}
	pctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	steps, err := p.Preview(pctx, src, r.Kind, target)
	if err != nil {
		return Action{}, providerError(err, src)
	}
	if len(steps) == 0 {
		return Action{}, errs.E(errs.Conflict, "%s reports nothing to change: nobody chosen holds a grant or assignment of this app.", src.Name)
	}

	alts, exception := s.alternatives(ctx, slug, a.AppName)
	body, _ := json.Marshal(alts)
	a.AltText, a.ExceptionURL = string(body), exception
	now := s.now()
	a.CreatedAt, a.UpdatedAt, a.ExpiresAt = db.Timestamp{Time: now}, db.Timestamp{Time: now}, db.Timestamp{Time: now.Add(ApprovalWindow)}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := insertAction(ctx, tx, &a, steps); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "action.preview", "action", fmt.Sprint(a.ID), map[string]any{
			"kind": a.Kind, "source": a.SourceName, "app": a.AppName, "target_app": a.TargetApp, "people": a.PeopleMode,
			"steps": len(steps), "reason": a.Reason})
	})
	if err != nil {
		return Action{}, err
	}
	return s.Get(ctx, a.ID)
}

// appIDOf picks the provider's id of a discovered app from its identifiers for a source kind:
// want when given (it must be one of them), else the most used.
func appIDOf(app discovery.DiscoveredApp, sourceKind, want string) (string, error) {
	prefix := identifierPrefix[sourceKind]
	var ids []string
	for _, u := range app.Sources {
		if v, ok := strings.CutPrefix(u.Identifier, prefix); ok && prefix != "" {
			ids = append(ids, v)
		}
	}
	if want != "" {
		for _, id := range ids {
			if strings.EqualFold(id, want) {
				return id, nil
			}
		}
		if len(ids) > 0 {
			return "", errInvalid("app", fmt.Sprintf("%s is not an identifier of %s.", want, app.Name))
		}
		return want, nil
	}
	if len(ids) == 0 {
		return "", errInvalid("kind", fmt.Sprintf("%s has not been seen in a %s log, so Paved does not know its id there.", app.Name, sourceKind))
	}
	return ids[0], nil
}

// alternatives are the approved apps to name, and where to ask for an exception.
func (s *Service) alternatives(ctx context.Context, slug, name string) ([]Alternative, string) {
	alts := []Alternative{}
	if slug == "" {
		return alts, "/requests/new?" + url.Values{"name": {name}}.Encode()
	}
	if s.catalog != nil {
		if d, err := s.catalog.Detail(ctx, slug); err == nil {
			for _, x := range d.Alternatives {
				if x.Status == catalog.StatusApproved || x.Status == catalog.StatusApprovedWithConditions {
					alts = append(alts, Alternative{Slug: x.Slug, Name: x.Name})
				}
			}
		}
	}
	return alts, "/apps/" + url.PathEscape(slug)
}

// DiscoveredAppOf is the discovered app linked to a catalogue app, the most used when several
// are: where a catalogue decision is carried to the providers.
func (s *Service) DiscoveredAppOf(ctx context.Context, slug string) (int64, error) {
	return discoveredAppOfSlug(ctx, s.db, slug)
}

// Get returns an action with its steps.
func (s *Service) Get(ctx context.Context, id int64) (Action, error) {
	a, err := getAction(ctx, s.db, id)
	if err != nil {
		return a, err
	}
	if a.Steps, err = listSteps(ctx, s.db, id); err != nil {
		return a, err
	}
	a.count()
	s.showExpiry(&a)
	return a, nil
}

// List returns the latest actions, without their steps but with their counts.
func (s *Service) List(ctx context.Context, limit int) ([]Action, error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	list, err := listActions(ctx, s.db, limit)
	if err != nil {
		return nil, err
	}
	for i := range list {
		s.showExpiry(&list[i])
	}
	return list, stepCounts(ctx, s.db, list)
}

// showExpiry shows a preview past its window as expired, before anyone tries to approve it.
func (s *Service) showExpiry(a *Action) {
	if a.State == StatePreviewed && !s.now().Before(a.ExpiresAt.Time) {
		a.State = StateExpired
	}
}

// Approve lets the job carry an action out. The approver must be a security member other than
// the one who started it, within the approval window.
func (s *Service) Approve(ctx context.Context, actor audit.Actor, id int64) (Action, error) {
	a, err := getAction(ctx, s.db, id)
	if err != nil {
		return a, err
	}
	if sameperson(actor, a.StartedBy, a.StartedByID) {
		return a, errs.Wrap(errs.Forbidden, ErrSelfApproval, "You started this action, so someone else in security must approve it: four eyes see more than two.")
	}
	now := s.now()
	if a.State == StatePreviewed && !now.Before(a.ExpiresAt.Time) {
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			if ok, err := setState(ctx, tx, id, now, StateExpired, StatePreviewed); err != nil || !ok {
				return err
			}
			return audit.Append(ctx, tx, now, actor, "action.expire", "action", fmt.Sprint(id), nil)
		})
		if err != nil {
			return a, err
		}
		return a, errs.E(errs.Conflict, "This preview expired %s: what the provider holds may have changed. Preview the action again.", a.ExpiresAt.Format("2 Jan 15:04 MST"))
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := approve(ctx, tx, id, now, actor.Name, actor.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.Conflict, "This action is %s; only a preview waiting for approval can be approved.", a.State.Label())
		}
		if err := audit.Append(ctx, tx, now, actor, "action.approve", "action", fmt.Sprint(id), map[string]any{
			"kind": a.Kind, "app": a.AppName, "started_by": a.StartedBy}); err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, RunArgs{ActionID: id}, runOpts)
		return err
	})
	if err != nil {
		return a, err
	}
	return s.Get(ctx, id)
}

// sameperson tells whether actor is the starter: by account, or by name for tokens.
func sameperson(actor audit.Actor, name string, id *int64) bool {
	if actor.UserID != nil && id != nil {
		return *actor.UserID == *id
	}
	return strings.EqualFold(actor.Name, name)
}

// Retry carries out again the steps that failed.
func (s *Service) Retry(ctx context.Context, actor audit.Actor, id int64) (Action, error) {
	a, err := getAction(ctx, s.db, id)
	if err != nil {
		return a, err
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := setState(ctx, tx, id, now, StateApproved, StatePartial, StateFailed)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.Conflict, "This action is %s; only steps of a partly done or failed action can be retried.", a.State.Label())
		}
		n, err := resetFailed(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, actor, "action.retry", "action", fmt.Sprint(id), map[string]any{"steps": n}); err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, RunArgs{ActionID: id}, runOpts)
		return err
	})
	if err != nil {
		return a, err
	}
	return s.Get(ctx, id)
}

// Undo reverses, where the provider can, the steps that were done.
func (s *Service) Undo(ctx context.Context, actor audit.Actor, id int64) (Action, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return a, err
	}
	if !a.Undoable() {
		if a.Kind == GoogleRevokeTokens {
			return a, errs.E(errs.Conflict, "Revoked Google tokens cannot be restored; people grant access again themselves if they are allowed to.")
		}
		return a, errs.E(errs.Conflict, "Nothing in this action can be undone.")
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := setState(ctx, tx, id, now, StateUndoing, StateDone, StatePartial, StateFailed)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.Conflict, "This action is %s; it can be undone once it has finished.", a.State.Label())
		}
		if err := audit.Append(ctx, tx, now, actor, "action.undo", "action", fmt.Sprint(id), nil); err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, UndoArgs{ActionID: id}, runOpts)
		return err
	})
	if err != nil {
		return a, err
	}
	return s.Get(ctx, id)
}

// Notices are the recent actions that removed something of person's, for their home page.
func (s *Service) Notices(ctx context.Context, person string) ([]Notice, error) {
	list, err := notices(ctx, s.db, person, s.now().AddDate(0, 0, -90))
	if err != nil {
		return nil, err
	}
	out := make([]Notice, 0, len(list))
	for _, a := range list {
		at := a.UpdatedAt.Time
		if a.FinishedAt != nil {
			at = a.FinishedAt.Time
		}
		out = append(out, Notice{ActionID: a.ID, AppName: a.AppName, Reason: a.Reason, Alternatives: a.Alternatives, ExceptionURL: a.ExceptionURL, At: at})
	}
	return out, nil
}

// errInvalid is a one-field validation error.
func errInvalid(field, msg string) error {
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: map[string]string{field: msg}}
}

// fieldError shows a not-found or invalid error under a form field, unless it names its own.
func fieldError(err error, field string) error {
	if errors.Is(err, discovery.ErrUnknownSource) {
		return errInvalid(field, "No such source.")
	}
	e, ok := errs.As(err)
	if !ok || len(e.Fields) > 0 || (e.Code != errs.NotFound && e.Code != errs.Invalid) {
		return err
	}
	return &errs.Error{Code: errs.Invalid, Message: e.Message, Fields: map[string]string{field: e.Message}, Err: err}
}

// providerError says what the provider answered to a preview: bad credentials and refusals are
// the admin's to fix, so the provider's words are shown.
func providerError(err error, src discovery.Source) error {
	if _, ok := errs.As(err); ok {
		return fieldError(err, "source")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.Unavailable, err, "%s did not answer in time; nothing was stored. Try again later.", src.Name)
	}
	msg := fmt.Sprintf("%s refused the preview: %v. Check the source's credentials and the scopes acting needs; nothing was stored.", src.Name, err)
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: map[string]string{"source": msg}, Err: err}
}
