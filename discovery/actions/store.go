package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// The store: every SQL statement of actions lives in this file.

const actionColumns = `SELECT id, kind, source_id, source_name, discovered_app_id, finding_id, target_app, app_name, alternatives,
	exception_url, people_mode, people, reason, state, started_by, started_by_id, approved_by, approved_by_id, approved_at,
	expires_at, finished_at, last_error, created_at, updated_at FROM actions`

const stepColumns = `SELECT id, action_id, position, person, object, object_id, description, data, undo, status, attempts,
	last_error, done_at, undone_at, notified_at FROM action_steps`

func insertAction(ctx context.Context, tx *sqlx.Tx, a *Action, steps []Step) error {
	if err := tx.GetContext(ctx, &a.ID, tx.Rebind(`INSERT INTO actions (kind, source_id, source_name, discovered_app_id, finding_id,
		target_app, app_name, alternatives, exception_url, people_mode, people, reason, state, started_by, started_by_id, expires_at,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.Kind, a.SourceID, a.SourceName, a.DiscoveredAppID, a.FindingID, a.TargetApp, a.AppName, a.AltText, a.ExceptionURL,
		a.PeopleMode, a.PeopleText, a.Reason, a.State, a.StartedBy, a.StartedByID, a.ExpiresAt.Time, a.CreatedAt.Time, a.UpdatedAt.Time); err != nil {
		return fmt.Errorf("insert action: %w", err)
	}
	for i, s := range steps {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO action_steps (action_id, position, person, object, object_id, description,
			data, undo, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, i+1, strings.ToLower(s.Person), s.Object, s.ObjectID, s.Description, string(s.Data), string(s.Undo), StepPending); err != nil {
			return fmt.Errorf("insert step %d of action %d: %w", i+1, a.ID, err)
		}
	}
	return nil
}

func getAction(ctx context.Context, q sqlx.ExtContext, id int64) (Action, error) {
	var a Action
	err := sqlx.GetContext(ctx, q, &a, q.Rebind(actionColumns+` WHERE id = ?`), id)
	if db.IsNotFound(err) {
		return a, errs.E(errs.NotFound, "No action %d.", id)
	}
	if err != nil {
		return a, fmt.Errorf("get action %d: %w", id, err)
	}
	a.decode()
	return a, nil
}

func (a *Action) decode() {
	_ = json.Unmarshal([]byte(a.AltText), &a.Alternatives)
	if a.Alternatives == nil {
		a.Alternatives = []Alternative{}
	}
	if a.PeopleText != "" {
		a.Emails = strings.Split(a.PeopleText, "\n")
	}
}

func listSteps(ctx context.Context, q sqlx.ExtContext, actionID int64) ([]StepRecord, error) {
	out := []StepRecord{}
	if err := sqlx.SelectContext(ctx, q, &out, q.Rebind(stepColumns+` WHERE action_id = ? ORDER BY position`), actionID); err != nil {
		return nil, fmt.Errorf("list steps of action %d: %w", actionID, err)
	}
	return out, nil
}

func listActions(ctx context.Context, q sqlx.ExtContext, limit int) ([]Action, error) {
	out := []Action{}
	if err := sqlx.SelectContext(ctx, q, &out, q.Rebind(actionColumns+` ORDER BY id DESC LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	for i := range out {
		out[i].decode()
	}
	return out, nil
}

// stepCounts fills in the counts of each action in one query.
func stepCounts(ctx context.Context, q sqlx.ExtContext, list []Action) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]int64, len(list))
	byID := map[int64]int{}
	for i, a := range list {
		ids[i], byID[a.ID] = a.ID, i
	}
	query, args, err := sqlx.In(`SELECT action_id, COUNT(*) AS total,
		COUNT(CASE WHEN status = 'pending' THEN 1 END) AS pending, COUNT(CASE WHEN status = 'done' THEN 1 END) AS done,
		COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed, COUNT(CASE WHEN status = 'skipped' THEN 1 END) AS skipped,
		COUNT(undone_at) AS undone, COUNT(DISTINCT CASE WHEN person <> '' THEN person END) AS people
		FROM action_steps WHERE action_id IN (?) GROUP BY action_id`, ids)
	if err != nil {
		return err
	}
	var rows []struct {
		ActionID int64 `db:"action_id"`
		StepCounts
	}
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(query), args...); err != nil {
		return fmt.Errorf("count steps: %w", err)
	}
	for _, r := range rows {
		list[byID[r.ActionID]].Counts = r.StepCounts
	}
	return nil
}

// setState moves an action from one of from to to, and reports whether it did: the guard that
// keeps two people (or two jobs) from making the same move.
func setState(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, to State, from ...State) (bool, error) {
	q, args, err := sqlx.In(`UPDATE actions SET state = ?, updated_at = ? WHERE id = ? AND state IN (?)`, to, now, id, from)
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return false, fmt.Errorf("set state of action %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func approve(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, by string, byID *int64) (bool, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE actions SET state = ?, approved_by = ?, approved_by_id = ?, approved_at = ?, updated_at = ?
		WHERE id = ? AND state = ? AND expires_at > ?`), StateApproved, by, byID, now, now, id, StatePreviewed, now)
	if err != nil {
		return false, fmt.Errorf("approve action %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func finishAction(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, to State, lastError string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE actions SET state = ?, finished_at = ?, last_error = ?, updated_at = ? WHERE id = ?`),
		to, now, lastError, now, id)
	if err != nil {
		return fmt.Errorf("finish action %d: %w", id, err)
	}
	return nil
}

func setLastError(ctx context.Context, d *db.DB, id int64, now time.Time, msg string) error {
	_, err := d.ExecContext(ctx, d.Rebind(`UPDATE actions SET last_error = ?, updated_at = ? WHERE id = ?`), msg, now, id)
	return err
}

// nextPending is the first step not yet carried out.
func nextPending(ctx context.Context, d *db.DB, actionID int64) (StepRecord, bool, error) {
	var s StepRecord
	err := d.GetContext(ctx, &s, d.Rebind(stepColumns+` WHERE action_id = ? AND status = ? ORDER BY position LIMIT 1`), actionID, StepPending)
	if db.IsNotFound(err) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("next step of action %d: %w", actionID, err)
	}
	return s, true, nil
}

// recordStep writes a step's result; only a pending step changes, so a result is written once.
func recordStep(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, status, msg string) (bool, error) {
	var doneAt any
	if status == StepDone {
		doneAt = now
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE action_steps SET status = ?, attempts = attempts + 1, last_error = ?, done_at = ?
		WHERE id = ? AND status = ?`), status, msg, doneAt, id, StepPending)
	if err != nil {
		return false, fmt.Errorf("record step %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func recordUndo(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, msg string) error {
	var q string
	var args []any
	if msg == "" {
		q, args = `UPDATE action_steps SET undone_at = ?, last_error = '' WHERE id = ? AND undone_at IS NULL`, []any{now, id}
	} else {
		q, args = `UPDATE action_steps SET last_error = ? WHERE id = ?`, []any{msg, id}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("record undo of step %d: %w", id, err)
	}
	return nil
}

func resetFailed(ctx context.Context, tx *sqlx.Tx, actionID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE action_steps SET status = ? WHERE action_id = ? AND status = ?`), StepPending, actionID, StepFailed)
	if err != nil {
		return 0, fmt.Errorf("reset failed steps of action %d: %w", actionID, err)
	}
	return res.RowsAffected()
}

// unnotified lists the people of done steps who have not been told yet.
func unnotified(ctx context.Context, tx *sqlx.Tx, actionID int64) ([]string, error) {
	var out []string
	err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT DISTINCT person FROM action_steps WHERE action_id = ? AND status = ? AND person <> ''
		AND person NOT IN (SELECT person FROM action_steps WHERE action_id = ? AND notified_at IS NOT NULL) ORDER BY person`), actionID, StepDone, actionID)
	if err != nil {
		return nil, fmt.Errorf("people to tell of action %d: %w", actionID, err)
	}
	return out, nil
}

// appWideUntold reports whether an app-wide step is done and nobody was told of it yet.
func appWideUntold(ctx context.Context, tx *sqlx.Tx, actionID int64) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM action_steps WHERE action_id = ? AND status = ? AND person = ''
		AND NOT EXISTS (SELECT 1 FROM action_steps WHERE action_id = ? AND notified_at IS NOT NULL)`), actionID, StepDone, actionID)
	return n > 0, err
}

func markNotified(ctx context.Context, tx *sqlx.Tx, actionID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE action_steps SET notified_at = ? WHERE action_id = ? AND status = ? AND notified_at IS NULL`),
		now, actionID, StepDone)
	if err != nil {
		return fmt.Errorf("mark people of action %d told: %w", actionID, err)
	}
	return nil
}

// appUsers are the people discovery saw using a discovered app: those an app-wide action reaches.
func appUsers(ctx context.Context, tx *sqlx.Tx, discoveredAppID int64) ([]string, error) {
	var out []string
	err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT user_key FROM usage_discovered_users WHERE discovered_app_id = ?
		AND user_key LIKE '%@%' ORDER BY user_key`), discoveredAppID)
	if err != nil {
		return nil, fmt.Errorf("people of discovered app %d: %w", discoveredAppID, err)
	}
	return out, nil
}

// discoveredAppOfSlug is the discovered app linked to a catalogue app, most used first.
func discoveredAppOfSlug(ctx context.Context, d *db.DB, slug string) (int64, error) {
	var id int64
	err := d.GetContext(ctx, &id, d.Rebind(`SELECT d.id FROM discovered_apps d JOIN apps a ON a.id = d.app_id WHERE a.slug = ?
		ORDER BY (SELECT COUNT(*) FROM usage_discovered_users u WHERE u.discovered_app_id = d.id) DESC, d.id LIMIT 1`), slug)
	if db.IsNotFound(err) {
		return 0, errs.E(errs.NotFound, "Discovery has not seen %q in any log.", slug)
	}
	return id, err
}

// notices are the finished actions whose steps reached person, newest first.
func notices(ctx context.Context, d *db.DB, person string, since time.Time) ([]Action, error) {
	out := []Action{}
	err := d.SelectContext(ctx, &out, d.Rebind(actionColumns+` WHERE id IN (SELECT action_id FROM action_steps WHERE person = ? AND status = ?
		AND undone_at IS NULL AND done_at >= ?) ORDER BY id DESC LIMIT 10`), strings.ToLower(person), StepDone, since)
	if err != nil {
		return nil, fmt.Errorf("actions reaching %s: %w", person, err)
	}
	for i := range out {
		out[i].decode()
	}
	return out, nil
}
