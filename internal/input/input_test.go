package input

import (
	"strings"
	"testing"

	"github.com/pavedhq/paved/internal/errs"
)

func TestProblem(t *testing.T) {
	cases := []struct {
		in        string
		multiline bool
		bad       bool
	}{
		{"Google Drive", false, false},
		{"Zürich 東京 ✓", false, false},
		{"a\x00b", true, true},
		{"a\x00b", false, true},
		{"bell\x07", true, true},
		{"esc\x1b[31m", true, true},
		{"del\x7f", true, true},
		{"c1\u0085", true, true},
		{"evil\u202etxt.exe", true, true},
		{"isolate\u2066x\u2069", true, true},
		{"two\nlines", true, false},
		{"two\r\nlines\tand tab", true, false},
		{"two\nlines", false, true},
		{"cr\r", false, true},
		{"tab\t", false, true},
		{"sep\u2028", false, true},
		{"sep\u2028", true, false},
		{"bad utf8 \xff", true, true},
		{"", false, false},
	}
	for _, tc := range cases {
		if got := Problem(tc.in, tc.multiline) != ""; got != tc.bad {
			t.Errorf("Problem(%q, multiline=%v) bad = %v, want %v", tc.in, tc.multiline, got, tc.bad)
		}
	}
	if p := Problem("x\x00", false); !strings.Contains(p, "U+0000") {
		t.Errorf("message %q does not name the character", p)
	}
}

func TestLengths(t *testing.T) {
	f := errs.Fields{}
	Line(f, "vendor", strings.Repeat("é", 201), 200)
	Text(f, "note", strings.Repeat("x", 4000), 4000)
	Check(f, "any", strings.Repeat("x", MaxValueRunes+1), true)
	if f["vendor"] != "Use at most 200 characters." || f["note"] != "" || f["any"] != "Use at most 20,000 characters." {
		t.Errorf("fields = %v", f)
	}
}
