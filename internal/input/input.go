// Package input decides which text Paved accepts from people and scripts. Control characters
// and bidirectional overrides are never wanted in catalogue text: NUL is refused by PostgreSQL
// (and silently kept by SQLite, so the two databases would disagree), other controls corrupt
// logs and CSV exports, and a right-to-left override makes a name read differently from what it
// is. The portal checks every query, form and JSON value with Check before a handler runs;
// domain validation uses Line and Text for each field's own rules and length.
package input

import (
	"fmt"
	"unicode/utf8"

	"github.com/pavedhq/paved/internal/errs"
)

// MaxValueRunes bounds any single text value the portal accepts, whatever the field: a safety
// net under the per-field limits of the domain packages.
const MaxValueRunes = 20000

// Problem says what is wrong with s as user text, or "" when nothing is. Multi-line text may
// hold tabs and line breaks; one-line text may not.
func Problem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "Use valid UTF-8 text."
	}
	for _, r := range s {
		if bad, name := forbidden(r, multiline); bad {
			return fmt.Sprintf("Remove the %s (U+%04X): it is not allowed here.", name, r)
		}
	}
	return ""
}

// forbidden reports whether r may not appear, and how to call it in a message.
func forbidden(r rune, multiline bool) (bool, string) {
	switch {
	case r == 0:
		return true, "NUL character"
	case r == '\t' || r == '\n' || r == '\r':
		return !multiline, "line break or tab"
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true, "control character"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true, "text-direction override"
	case r == 0x2028 || r == 0x2029:
		return !multiline, "line separator"
	}
	return false, ""
}

// Check records in f a problem with the value of field: a forbidden character or more than
// MaxValueRunes characters.
func Check(f errs.Fields, field, s string, multiline bool) {
	if p := Problem(s, multiline); p != "" {
		f.Add(field, p)
		return
	}
	if len(s) > MaxValueRunes && utf8.RuneCountInString(s) > MaxValueRunes {
		f.Add(field, fmt.Sprintf("Use at most %s characters.", thousands(MaxValueRunes)))
	}
}

// Line checks a one-line field (a name, a vendor, an owner) of at most max characters.
func Line(f errs.Fields, field, s string, max int) {
	if p := Problem(s, false); p != "" {
		f.Add(field, p)
		return
	}
	tooLong(f, field, s, max)
}

// Text checks a multi-line field (a description, a note, a comment) of at most max characters.
func Text(f errs.Fields, field, s string, max int) {
	if p := Problem(s, true); p != "" {
		f.Add(field, p)
		return
	}
	tooLong(f, field, s, max)
}

func tooLong(f errs.Fields, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		f.Add(field, fmt.Sprintf("Use at most %s characters.", thousands(max)))
	}
}

// thousands writes n with comma separators, as the other messages do ("4,000").
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// PathOK reports whether a decoded URL path may name something: no control characters, no
// direction overrides, valid UTF-8. Paths that fail name nothing, so they answer 404.
func PathOK(p string) bool { return Problem(p, false) == "" }
