// Package requests is the request workflow: access requests and proposals of new apps, their
// state machine, security's review, committee votes and tallies, supporters and pledges, and
// decisions. The rules are pure functions; the Service stores requests beside the catalogue and
// changes the catalogue through it, in the same transaction as the request.
package requests

import (
	"context"
	"time"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
)

// Service stores and moves requests.
type Service struct {
	db         *db.DB
	catalog    *catalog.Service
	notifier   Notifier
	usage      UsageCounter
	electorate Electorate
	votes      VoteSettings
	// Now is the clock; tests set it.
	Now func() time.Time
}

// NewService returns the request workflow on d, deciding about the apps of cat.
func NewService(d *db.DB, cat *catalog.Service) *Service {
	return &Service{db: d, catalog: cat, Now: time.Now, votes: VoteSettings{Rules: DefaultVotingRules()}}
}

func (s *Service) now() time.Time { return db.Time(s.Now()) }

// Member is a signed-in person acting on requests.
type Member struct {
	UserID int64
	Email  string
	Roles  []string
	// Chair is true when the member chairs the committee (PAVED_VOTE_CHAIR_ROLE).
	Chair     bool
	RequestID string // the HTTP request, for the audit log
}

func (m Member) actor() audit.Actor {
	return audit.Actor{UserID: &m.UserID, Name: m.Email, RequestID: m.RequestID}
}

// app returns the catalogued app slug.
func (s *Service) app(ctx context.Context, slug string) (catalog.App, error) {
	return s.catalog.App(ctx, slug)
}
