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
	tests := []struct {
		name            string
		events          []UsageEvent
		entries, people int
	}{
		{"one identifier, two people", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:a", "bob@x"), ev("okta:a", "ann@x")}, 3, 2},
		{"two identifiers, the same person", []UsageEvent{ev("okta:a", "ann@x"), ev("entra:a", "ann@x")}, 4, 2},
		{"two identifiers, two people", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:b", "bob@x")}, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTally(0)
			for _, e := range tt.events {
				tl.add(e, e.UserEmail, e.UserEmail, at)
			}
			if got := tl.entries(); got != tt.entries {
				t.Errorf("entries() = %d, want %d (users %d, days %d)", got, tt.entries, len(tl.users), len(tl.days))
			}
			if len(tl.people) != tt.people || len(tl.people) > len(tl.users) {
				t.Errorf("people entries = %d, want %d and no more than the %d (identifier, user) entries", len(tl.people), tt.people, len(tl.users))
			}
		})
	}
}
