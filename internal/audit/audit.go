// Package audit writes and reads the append-only audit log: who did what to which object, when.
// Every domain writes to it inside the transaction of the change it records, so a change and its
// audit entry are committed together or not at all.
package audit

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

// Entry is one audit log row.
type Entry struct {
	ID         int64     `db:"id" json:"id"`
	At         time.Time `db:"at" json:"at"`
	ActorID    *int64    `db:"actor_id" json:"actor_id"`
	Actor      string    `db:"actor" json:"actor"` // an e-mail, "token:NAME" or "system"
	Action     string    `db:"action" json:"action"`
	ObjectType string    `db:"object_type" json:"object_type"`
	ObjectID   string    `db:"object_id" json:"object_id"`
	Details    string    `db:"details" json:"details"` // JSON object
	RequestID  string    `db:"request_id" json:"request_id"`
}

// Actor says who acted, for entries written by a domain function.
type Actor struct {
	UserID    *int64
	Name      string
	RequestID string
}

// System is the actor for work nobody asked for directly (jobs, start-up).
var System = Actor{Name: "system"}

// Append writes an entry inside tx. details is marshalled to JSON; nil becomes {}.
func Append(ctx context.Context, tx sqlx.ExtContext, at time.Time, actor Actor, action, objectType, objectID string, details any) error {
	if action == "" || objectType == "" {
		return fmt.Errorf("audit: action and object type are required")
	}
	body := []byte("{}")
	if details != nil {
		var err error
		if body, err = json.Marshal(details); err != nil {
			return fmt.Errorf("audit: encode details: %w", err)
		}
	}
	name := actor.Name
	if name == "" {
		name = "unknown"
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id, details, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		db.Time(at), actor.UserID, name, action, objectType, objectID, string(body), actor.RequestID)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", action, err)
	}
	return nil
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	Actor      string
	Action     string
	ObjectType string
	// Category keeps the actions of one of Categories (by Key); an unknown key is an error.
	Category string
	// HideSignIns leaves out sign-ins and sign-outs, which outnumber everything else.
	HideSignIns bool
	Since       time.Time
	Limit       int
}

// List returns entries newest first.
func List(ctx context.Context, q sqlx.ExtContext, f Filter) ([]Entry, error) {
	var (
		where []string
		args  []any
	)
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.ObjectType != "" {
		where, args = append(where, "object_type = ?"), append(args, f.ObjectType)
	}
	if f.Category != "" {
		c, ok := categoryByKey(f.Category)
		if !ok {
			return nil, errs.E(errs.Invalid, "Unknown audit category %q.", f.Category)
		}
		sql, a := categoryClause(c)
		where, args = append(where, sql), append(args, a...)
	}
	if f.HideSignIns {
		c, _ := categoryByKey("signin")
		sql, a := categoryClause(c)
		where, args = append(where, "NOT "+sql), append(args, a...)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, db.Time(f.Since))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	query := "SELECT id, at, actor_id, actor, action, object_type, object_id, details, request_id FROM audit_log"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	var out []Entry
	if err := sqlx.SelectContext(ctx, q, &out, q.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}
