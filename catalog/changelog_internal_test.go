package catalog

import (
	"testing"
	"time"
)

// The cursor stops at a hole in the ids until the hole is older than GapWait: on PostgreSQL the
// change that fills it may commit after the later ones.
func TestFollowerAdvanceWaitsAtHoles(t *testing.T) {
	f := &Follower{GapWait: time.Hour, cursor: 4}
	rows := func(ids ...int64) []change {
		var out []change
		for _, id := range ids {
			out = append(out, change{ID: id, Slug: "x"})
		}
		return out
	}
	if got := f.advance(rows(5, 6, 7)); got != 7 {
		t.Errorf("contiguous: %d, want 7", got)
	}
	f.cursor = 7
	if got := f.advance(rows(8, 10, 11)); got != 8 {
		t.Errorf("hole at 9: %d, want 8", got)
	}
	f.cursor = 8
	if got := f.advance(rows(10, 11)); got != 8 {
		t.Errorf("hole still young: %d, want 8", got)
	}
	if got := f.advance(rows(9, 10, 11)); got != 11 {
		t.Errorf("hole filled: %d, want 11", got)
	}
	f.gaps = map[int64]time.Time{12: time.Now().Add(-2 * time.Hour)}
	f.cursor = 11
	if got := f.advance(rows(13)); got != 13 {
		t.Errorf("old hole (a rolled-back change): %d, want 13", got)
	}
}
