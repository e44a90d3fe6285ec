package catalog

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
)

// namesTTL is how long the list of app names behind suggestions is reused. Suggestions are
// asked for only when a search finds nothing; a name added a moment ago can wait this long.
const namesTTL = 30 * time.Second

// nameCache holds the catalogue's app names for suggestions.
type nameCache struct {
	mu    sync.Mutex
	at    time.Time
	names []string
}

// appNames returns every app's name, from the cache when it is fresh.
func (s *Service) appNames(ctx context.Context) ([]string, error) {
	s.names.mu.Lock()
	defer s.names.mu.Unlock()
	if s.names.names != nil && time.Since(s.names.at) < namesTTL {
		return s.names.names, nil
	}
	var names []string
	if err := s.db.SelectContext(ctx, &names, "SELECT name FROM apps ORDER BY name"); err != nil {
		return nil, fmt.Errorf("list app names: %w", err)
	}
	if names == nil {
		names = []string{}
	}
	s.names.names, s.names.at = names, time.Now()
	return names, nil
}

// Suggest returns the name among names closest to text, for a "did you mean" line under a
// search that found nothing; "" when none is close enough. Closeness is the number of typos
// (insertions, deletions, substitutions and swaps of neighbouring letters) between the text and
// a name, or one word of a name, ignoring case, spaces and punctuation, so "one drive" meets
// "OneDrive" and "teems" meets "Microsoft Teams". A name the text already spells is no
// suggestion: the search would have found it unless filters hid it.
func Suggest(text string, names []string) string {
	q := fold(text)
	if len(q) < 3 {
		return ""
	}
	allowed := maxSuggestTypos(len(q))
	best, bestDist, bestWhole := "", allowed+1, false
	for _, name := range names {
		whole := fold(name)
		if len(whole) == 0 {
			continue
		}
		d, isWhole := typos(q, whole, allowed), true
		if words := strings.Fields(name); len(words) > 1 {
			for _, w := range words {
				if fw := fold(w); len(fw) >= 4 {
					if wd := typos(q, fw, allowed); wd < d {
						d, isWhole = wd, false
					}
				}
			}
		}
		if d == 0 {
			return "" // the text names an app already
		}
		// Ties go to a whole name over one word of a name, then to the name nearest the
		// text's length ("sllak" is two typos from both Slab and Slack), then by name.
		better := d < bestDist ||
			d == bestDist && isWhole && !bestWhole ||
			d == bestDist && isWhole == bestWhole && cmp.Or(cmp.Compare(lenGap(whole, q), lenGap(fold(best), q)), strings.Compare(name, best)) < 0
		if d <= allowed && better {
			best, bestDist, bestWhole = name, d, isWhole
		}
	}
	return best
}

// lenGap is how much longer or shorter a is than b.
func lenGap(a, b []rune) int { return max(len(a)-len(b), len(b)-len(a)) }

// maxSuggestTypos is how far a suggestion may be from a text of n letters: further than the
// search engines' own tolerance (they found nothing), not so far that any name would do.
func maxSuggestTypos(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 7:
		return 2
	default:
		return 3
	}
}

// fold lowercases s and keeps only its letters and digits.
func fold(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, r)
		}
	}
	return out
}

// typos returns the optimal-string-alignment distance between a and b (edits, with a swap of
// neighbours as one), or limit+1 as soon as it is known to exceed limit.
func typos(a, b []rune, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	// Three rows of the dynamic programme: two back for swaps.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}
