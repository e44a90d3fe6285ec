package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMETableMatchesSettings keeps the README's configuration table true: it must be exactly
// the table generated from the settings. On failure, paste the printed table into README.md.
func TestREADMETableMatchesSettings(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	const start, end = "<!-- config-table:start -->\n", "<!-- config-table:end -->"
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q block", strings.TrimSpace(start), end)
	}
	got := readme[i+len(start) : j]
	if want := MarkdownTable(); got != want {
		t.Errorf("README configuration table is out of date; replace it with:\n%s", want)
	}
}
