package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/audit"
)

// An API source's people directory — its groups, who is in them, and people's departments — is
// pulled with the same credentials as its logs. A directory is a snapshot, not a stream: each
// pull reads all of it and replaces what the previous pull of that source said, so someone who
// left a group leaves it in Paved too. People and groups from other sources (another IdP, a CSV
// upload, the groups people sign in with) are not touched.

// DirectoryPuller reads the whole people directory of a source.
type DirectoryPuller interface {
	PullDirectory(ctx context.Context, src Source) ([]Person, error)
}

// DirectorySource is the people-directory source name of an API source: its kind and id, so two
// sources of one kind (two Okta orgs) never replace each other's groups.
func DirectorySource(src Source) string { return fmt.Sprintf("%s:%d", src.Kind, src.ID) }

// DirectoryResult sums up one directory pull.
type DirectoryResult struct {
	People      int // people listed
	Memberships int // (person, group) pairs
	Groups      int // distinct groups
}

// ErrEmptyDirectory is a directory pull that listed no one: more likely a permission or filter
// problem than an empty organisation, so nothing is replaced.
var ErrEmptyDirectory = errors.New("the directory listed no one (check the credentials' directory permissions); nothing was changed")

// PullDirectory pulls src's directory with p and stores it (SyncDirectory). The outcome is
// recorded on the source (directory_synced_at, directory_people, directory_error), apart from
// its log pulls.
func (s *Store) PullDirectory(ctx context.Context, actor audit.Actor, src Source, p DirectoryPuller) (DirectoryResult, error) {
	var res DirectoryResult
	if src.Secret == "" {
		full, err := s.SourceWithSecret(ctx, src.ID)
		if err != nil {
			return res, err
		}
		src = full
	}
	people, err := p.PullDirectory(ctx, src)
	if err == nil {
		res, err = s.SyncDirectory(ctx, actor, DirectorySource(src), people)
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	// Recorded even if ctx was cancelled, so the admin page shows why the pull stopped.
	endCtx := context.WithoutCancel(ctx)
	q, args := `UPDATE discovery_sources SET directory_error = ? WHERE id = ?`, []any{msg, src.ID}
	if err == nil {
		q, args = `UPDATE discovery_sources SET directory_synced_at = ?, directory_people = ?, directory_error = '' WHERE id = ?`, []any{s.now(), res.People, src.ID}
	}
	if _, rerr := s.db.ExecContext(endCtx, s.db.Rebind(q), args...); rerr != nil && err == nil {
		err = fmt.Errorf("record directory pull of source %d: %w", src.ID, rerr)
	}
	if err != nil {
		return res, fmt.Errorf("directory of %s source %q: %w", src.Kind, src.Name, err)
	}
	return res, nil
}

// SyncDirectory stores a source's whole directory in one transaction: every listed person is
// saved (a name, department or manager the directory leaves empty keeps what Paved knew), and
// the groups that source gave anyone are replaced by the ones it gives now. People it does not
// list lose that source's groups and keep everything else.
func (s *Store) SyncDirectory(ctx context.Context, actor audit.Actor, source string, people []Person) (DirectoryResult, error) {
	var res DirectoryResult
	byEmail := map[string]Person{}
	for _, p := range people {
		p.Email = normalizeEmail(p.Email)
		if p.Email == "" {
			continue
		}
		if personFieldProblem(p.Name) != "" {
			p.Name = ""
		}
		if personFieldProblem(p.Department) != "" {
			p.Department = ""
		}
		if p.Manager = normalizeEmail(p.Manager); len(p.Manager) > maxPersonField {
			p.Manager = ""
		}
		// One person may be listed more than once (once per group): their groups add up.
		if prev, ok := byEmail[p.Email]; ok {
			p.Groups = append(p.Groups, prev.Groups...)
			p.Name, p.Department, p.Manager = cmpOr(p.Name, prev.Name), cmpOr(p.Department, prev.Department), cmpOr(p.Manager, prev.Manager)
		}
		byEmail[p.Email] = p
	}
	if len(byEmail) == 0 {
		return res, ErrEmptyDirectory
	}
	emails := slices.Sorted(maps.Keys(byEmail))
	var rows [][2]string
	groups := map[string]bool{}
	for _, e := range emails {
		p := byEmail[e]
		seen := map[string]bool{}
		for _, g := range p.Groups {
			g = strings.TrimSpace(g)
			if g == "" || seen[g] || personFieldProblem(g) != "" {
				continue
			}
			seen[g], groups[g] = true, true
			rows = append(rows, [2]string{e, g})
		}
	}
	res = DirectoryResult{People: len(emails), Memberships: len(rows), Groups: len(groups)}
	now := s.now()
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := upsertRows(ctx, tx, "save directory people", "INSERT INTO people (email, name, department, manager, source, updated_at) VALUES ", 6,
			` ON CONFLICT (email) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE people.name END,
				department = CASE WHEN excluded.department <> '' THEN excluded.department ELSE people.department END,
				manager = CASE WHEN excluded.manager <> '' THEN excluded.manager ELSE people.manager END,
				source = excluded.source, updated_at = excluded.updated_at`,
			len(emails), func(i int, args []any) []any {
				p := byEmail[emails[i]]
				return append(args, p.Email, p.Name, p.Department, p.Manager, source, now)
			}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM person_groups WHERE source = ?"), source); err != nil {
			return fmt.Errorf("clear the groups of %s: %w", source, err)
		}
		if err := upsertRows(ctx, tx, "save directory groups", "INSERT INTO person_groups (email, group_name, source) VALUES ", 3, " ON CONFLICT (email, group_name, source) DO NOTHING",
			len(rows), func(i int, args []any) []any { return append(args, rows[i][0], rows[i][1], source) }); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "discovery.directory_sync", "people", source,
			map[string]int{"people": res.People, "groups": res.Groups, "memberships": res.Memberships})
	})
	if err != nil {
		return DirectoryResult{}, err
	}
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// forgetDirectory drops the groups a deleted source gave people (their records stay: other
// sources may know them).
func forgetDirectory(ctx context.Context, tx *sqlx.Tx, src Source) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM person_groups WHERE source = ?"), DirectorySource(src)); err != nil {
		return fmt.Errorf("forget the directory of source %d: %w", src.ID, err)
	}
	return nil
}

// DirectoryArgs asks for the directory of one source (SourceID) or of every enabled source
// (zero) to be pulled.
type DirectoryArgs struct {
	SourceID int64 `json:"source_id,omitempty"`
}

// Kind names the job.
func (DirectoryArgs) Kind() string { return "discovery.pull_directories" }

// DirectoryWorker pulls directories with the DirectoryPuller registered for their kind.
type DirectoryWorker struct {
	river.WorkerDefaults[DirectoryArgs]
	Store   *Store
	Pullers map[string]DirectoryPuller
}

// Timeout lets a large directory (one request per group, rate-limit waits) take its time.
func (w *DirectoryWorker) Timeout(*river.Job[DirectoryArgs]) time.Duration { return 30 * time.Minute }

// Work pulls the directories, then asks for the conditions to be evaluated again, since who is
// in which group decides the allowed-groups condition. The job fails, and River retries it, only
// if some source failed; each failure is recorded on its source.
func (w *DirectoryWorker) Work(ctx context.Context, job *river.Job[DirectoryArgs]) error {
	synced, err := w.Store.PullDirectories(ctx, audit.System, w.Pullers, job.Args.SourceID)
	if synced > 0 && w.Store.jobs != nil {
		if _, ierr := w.Store.jobs.Insert(ctx, ConditionsArgs{}, nil); ierr != nil {
			slog.WarnContext(ctx, "discovery: queue a condition evaluation", "err", ierr)
		}
	}
	return err
}

// PullDirectories pulls the directory of one source (id ≠ 0, enabled or not) or of every
// enabled source, and returns how many were stored.
func (s *Store) PullDirectories(ctx context.Context, actor audit.Actor, pullers map[string]DirectoryPuller, id int64) (int, error) {
	var ids []int64
	if id != 0 {
		ids = []int64{id}
	} else if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT id FROM discovery_sources WHERE enabled = ? ORDER BY id`), true); err != nil {
		return 0, fmt.Errorf("list enabled sources: %w", err)
	}
	var (
		errs   []error
		synced int
	)
	for _, id := range ids {
		src, err := s.SourceWithSecret(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := pullers[src.Kind]
		if p == nil {
			errs = append(errs, fmt.Errorf("no directory puller for %s source %q", src.Kind, src.Name))
			continue
		}
		res, err := s.PullDirectory(ctx, actor, src, p)
		if err != nil {
			errs = append(errs, err)
		} else {
			synced++
			slog.InfoContext(ctx, "discovery: directory pulled", "source", src.Name, "people", res.People, "groups", res.Groups)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return synced, errors.Join(errs...)
}

// DirectoryInterval is how often every enabled source's directory is pulled: people change
// groups far less often than they sign in, and a large directory costs many requests.
const DirectoryInterval = 6 * time.Hour

// DirectoryPeriodic pulls every enabled source's directory every DirectoryInterval, and at start,
// on one replica.
func DirectoryPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(DirectoryInterval), func() (river.JobArgs, *river.InsertOpts) {
		return DirectoryArgs{}, &river.InsertOpts{MaxAttempts: 3}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// DefaultDirectoryPullers returns the production directory pullers, one per source kind. They
// share the log pullers' token caches when given them.
func DefaultDirectoryPullers(pullers map[string]Puller) map[string]DirectoryPuller {
	out := map[string]DirectoryPuller{}
	for kind, p := range pullers {
		if dp, ok := p.(DirectoryPuller); ok {
			out[kind] = dp
		}
	}
	return out
}
