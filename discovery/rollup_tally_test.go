package discovery

import (
	"testing"
	"time"
)

// The tally's bound counts the per-identifier entries only: the per-app people entries never
// outnumber them, and counting them too would make imports roll up twice as often.
func TestTallyEntriesBoundThePerIdentifierRows(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	ev := func(app, user string) UsageEvent {
		return UsageEvent{Source: SourceOkta, AppKey: app, UserEmail: user, Kind: KindSSOLogin, Outcome: OutcomeSuccess}
	}
	tests := []struct {
		name            string
		events          []UsageEvent
		apps            map[string]int64 // identifier → discovered app
		entries, people int
	}{
		{"one identifier, two people", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:a", "bob@x"), ev("okta:a", "ann@x")},
			map[string]int64{"okta:a": 1}, 3, 2},
		{"two identifiers of one app, the same person", []UsageEvent{ev("okta:a", "ann@x"), ev("entra:a", "ann@x")},
			map[string]int64{"okta:a": 1, "entra:a": 1}, 4, 1},
		{"two apps", []UsageEvent{ev("okta:a", "ann@x"), ev("okta:b", "ann@x")},
			map[string]int64{"okta:a": 1, "okta:b": 2}, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTally(0)
			for _, e := range tt.events {
				tl.add(e, e.UserEmail, e.UserEmail, tt.apps[e.AppKey], at)
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
