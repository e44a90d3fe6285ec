package discovery

import (
	"testing"
	"time"
)

// The tally's bound counts the per-identifier entries only: the people entries (per identifier
// and person, summed per app when applied) never outnumber them, and counting them too would
// make imports roll up twice as often.
func TestTallyEntriesBoundThePerIdentifierRows(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	ev := func(app, user string) UsageEvent {
		return UsageEvent{Source: SourceOkta, AppKey: app, UserEmail: user, Kind: KindSSOLogin, Outcome: OutcomeSuccess}
	}
	idEv := func(app, id string) UsageEvent {
		return UsageEvent{Source: SourceOkta, AppKey: app, UserID: id, Kind: KindSSOLogin, Outcome: OutcomeSuccess}
	}
	tests := []struct {
		name            string
		events          []UsageEvent
		entries, people int
	}{
		{"one identifier, two people", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:a", "bob@x"), ev("okta:a", "ann@x")}, 3, 0},
		{"two identifiers, the same person", []UsageEvent{ev("okta:a", "ann@x"), ev("entra:a", "ann@x")}, 4, 0},
		{"two identifiers, two people", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:b", "bob@x")}, 4, 0},
		{"a user id that stands for an e-mail", []UsageEvent{idEv("okta:a", "00u1")}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTally(0)
			for _, e := range tt.events {
				user, person := e.UserKey(), e.UserKey()
				if e.UserEmail == "" {
					person = "ann@x" // the id is tied to this e-mail
				}
				tl.add(e, user, person, at)
			}
			if got := tl.entries(); got != tt.entries {
				t.Errorf("entries() = %d, want %d (users %d, days %d)", got, tt.entries, len(tl.users), len(tl.days))
			}
			if len(tl.people) != tt.people || len(tl.people) > len(tl.users) {
				t.Errorf("people entries = %d, want %d (only mapped users) and no more than the %d (identifier, user) entries", len(tl.people), tt.people, len(tl.users))
			}
		})
	}
}
