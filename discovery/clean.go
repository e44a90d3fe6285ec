package discovery

import (
	"strings"
	"unicode/utf8"
)

// cleanText makes a value from a log safe to store and show: NUL and other control characters
// and text-direction overrides are dropped (PostgreSQL refuses NUL outright, and an override
// makes a name read as something else on the dashboard), line breaks and tabs become spaces,
// and bytes that are not UTF-8 become U+FFFD. It reports whether anything changed.
func cleanText(s string) (string, bool) {
	if !needsCleaning(s) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case dropRune(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String()), true
}

func needsCleaning(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || dropRune(r) {
			return true
		}
		i += n
	}
	return false
}

func dropRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// clean applies cleanText to every text of the event and reports whether any changed.
func (e *UsageEvent) clean() bool {
	changed := false
	for _, p := range []*string{&e.SourceEventID, &e.UserEmail, &e.UserID, &e.AppKey, &e.AppName, &e.ClientID,
		&e.Domain, &e.FailureReason, &e.IP, &e.UserAgent} {
		if v, ok := cleanText(*p); ok {
			*p, changed = v, true
		}
	}
	for i := range e.Scopes {
		if v, ok := cleanText(e.Scopes[i]); ok {
			e.Scopes[i], changed = v, true
		}
	}
	return changed
}
