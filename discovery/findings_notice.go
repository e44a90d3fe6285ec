package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"
)

// FindingsNotifier tells security about new findings, all of one evaluation in one message.
// It queues its messages in the transaction that marks the findings announced, so each
// finding goes out once, and never when that transaction rolls back.
type FindingsNotifier interface {
	NotifyFindingsTx(ctx context.Context, tx *sqlx.Tx, findings []Finding) error
}

// SetFindingsNotifier makes evaluations send security a digest of the findings they open.
func (s *Store) SetFindingsNotifier(n FindingsNotifier) { s.findingsNotifier = n }

// EvaluateAndAnnounce evaluates every condition, then sends the digest of what it found that
// was not announced yet. The digest goes out even when evaluating one app failed: the findings
// of the others are stored already.
func (s *Store) EvaluateAndAnnounce(ctx context.Context) error {
	opened, err := s.EvaluateConditions(ctx)
	for _, f := range opened {
		slog.InfoContext(ctx, "discovery: usage outside an app's conditions", "app", f.AppSlug, "condition", f.Kind, "people", f.PeopleCount)
	}
	_, aerr := s.AnnounceFindings(ctx)
	return errors.Join(err, aerr)
}

// AnnounceFindings sends one digest of the findings that are not resolved and were not
// announced before, and marks them announced; it returns how many it listed. With nothing new
// it sends nothing. Two runs at once announce each finding once: the first to mark a finding
// is the one that lists it.
func (s *Store) AnnounceFindings(ctx context.Context) (int, error) {
	if s.findingsNotifier == nil {
		return 0, nil
	}
	n := 0
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(`UPDATE findings SET announced_at = ? WHERE announced_at IS NULL AND status <> 'resolved' RETURNING id`), s.now()); err != nil {
			return fmt.Errorf("mark findings announced: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		q, args, err := sqlx.In(findingColumns+" WHERE f.id IN (?) ORDER BY a.name, f.id", ids)
		if err != nil {
			return err
		}
		var list []Finding
		if err := tx.SelectContext(ctx, &list, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("findings to announce: %w", err)
		}
		n = len(list)
		return s.findingsNotifier.NotifyFindingsTx(ctx, tx, list)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// FindingsAbout lists the findings not resolved yet that name person (an e-mail address), for
// the notice on their own home page.
func (s *Store) FindingsAbout(ctx context.Context, person string) ([]Finding, error) {
	person = strings.ToLower(strings.TrimSpace(person))
	if person == "" {
		return nil, nil
	}
	// people holds one address a line: look for the whole line.
	pattern := "%\n" + strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(person) + "\n%"
	out := []Finding{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(findingColumns+` WHERE f.status <> 'resolved'
		AND (CAST(? AS TEXT) || f.people || CAST(? AS TEXT)) LIKE ? ESCAPE '!' ORDER BY a.name, f.kind`), "\n", "\n", pattern)
	if err != nil {
		return nil, fmt.Errorf("findings about a person: %w", err)
	}
	return out, nil
}
