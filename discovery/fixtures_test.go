package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/internal/fixturegen"
)

var update = flag.Bool("update", false, "rewrite testdata/ with internal/fixturegen (at the module root)")

// generatedDirs are the testdata folders fixturegen owns entirely (fuzz/ also holds corpus
// entries the fuzzer adds, so only its seed files are rewritten).
var generatedDirs = []string{"okta", "entra", "google", "csv", "bad"}

// TestFixturesUpToDate checks that testdata/ is exactly what the generator writes, so the
// fixtures and their expectations cannot drift apart; with -update it rewrites them.
func TestFixturesUpToDate(t *testing.T) {
	if *update {
		for _, d := range generatedDirs {
			if err := os.RemoveAll(filepath.Join("testdata", d)); err != nil {
				t.Fatal(err)
			}
		}
		if err := fixturegen.Generate("testdata"); err != nil {
			t.Fatal(err)
		}
		t.Log("testdata regenerated")
		return
	}
	dir := t.TempDir()
	if err := fixturegen.Generate(dir); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join("testdata", rel))
		if err != nil {
			t.Errorf("testdata/%s is missing: run go test ./discovery -run TestFixturesUpToDate -update", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from what the generator writes: run go test ./discovery -run TestFixturesUpToDate -update", rel)
		}
		if len(want) > 300<<10 {
			t.Errorf("testdata/%s is %d KB: keep fixtures under 300 KB", rel, len(want)>>10)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// parsed is everything one parse produced.
type parsed struct {
	stats  Stats
	events []UsageEvent
	rejs   []Rejection
	err    error
}

func parseFile(t testing.TB, format, path string, opts ...Option) parsed {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return parseReader(t, format, f, opts...)
}

func parseReader(t testing.TB, format string, r interface{ Read([]byte) (int, error) }, opts ...Option) parsed {
	t.Helper()
	p, err := ParserFor(format, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var out parsed
	out.stats, out.err = p.Parse(context.Background(), r,
		func(e UsageEvent) error { out.events = append(out.events, e); return nil },
		func(r Rejection) error { out.rejs = append(out.rejs, r); return nil })
	return out
}

func loadExpects(t *testing.T) []fixturegen.Expect {
	t.Helper()
	paths, err := filepath.Glob("testdata/*/*.expect.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 12 {
		t.Fatalf("found %d fixtures with expect files; run the generator", len(paths))
	}
	var out []fixturegen.Expect
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var e fixturegen.Expect
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, e)
	}
	return out
}

// TestFixtures runs each parser over each of its fixtures and compares the result with what
// the generator meant to write: exact counts of events, users, apps, outcomes, kinds, the lines
// of the rejected records, and every field of a sample of events.
func TestFixtures(t *testing.T) {
	for _, exp := range loadExpects(t) {
		t.Run(exp.File, func(t *testing.T) {
			got := parseFile(t, exp.Format, filepath.Join("testdata", exp.File))
			if got.err != nil {
				t.Fatalf("parse: %v", got.err)
			}
			st := got.stats
			checkInt := func(what string, got, want int) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %d, want %d", what, got, want)
				}
			}
			checkInt("read", st.Read, exp.Read)
			checkInt("emitted", st.Emitted, exp.Emitted)
			checkInt("skipped", st.Skipped, exp.Skipped)
			checkInt("rejected", st.Rejected, exp.Rejected)
			checkInt("read - emitted - skipped - rejected", st.Read-st.Emitted-st.Skipped-st.Rejected, 0)
			checkInt("events delivered", len(got.events), st.Emitted)
			checkInt("rejections delivered", len(got.rejs), st.Rejected)

			ids, users, apps := map[string]bool{}, map[string]bool{}, map[string]bool{}
			outcomes := map[Outcome]int{}
			kinds := map[EventKind]int{}
			for i, e := range got.events {
				if err := e.Validate(); err != nil {
					t.Errorf("event %d (%s): %v", i, e.SourceEventID, err)
				}
				ids[e.SourceEventID] = true
				if k := e.UserKey(); k != "" {
					users[k] = true
				}
				apps[e.AppKey] = true
				outcomes[e.Outcome]++
				kinds[e.Kind]++
			}
			checkInt("distinct event ids", len(ids), exp.DistinctEventIDs)
			checkInt("distinct users", len(users), exp.DistinctUsers)
			checkInt("distinct app keys", len(apps), exp.DistinctAppKeys)
			checkInt("successes", outcomes[OutcomeSuccess], exp.Successes)
			checkInt("failures", outcomes[OutcomeFailure], exp.Failures)
			checkInt("interrupted", outcomes[OutcomeInterrupted], exp.Interrupted)
			checkInt("unknown outcomes", outcomes[OutcomeUnknown], exp.Unknown)
			checkInt("sso logins", kinds[KindSSOLogin], exp.SSOLogins)
			checkInt("grants", kinds[KindOAuthGrant], exp.Grants)
			checkInt("revokes", kinds[KindOAuthRevoke], exp.Revokes)

			keys := make([]string, 0, len(apps))
			for k := range apps {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !slices.Equal(keys, exp.AppKeys) {
				t.Errorf("app keys:\n got  %q\n want %q", keys, exp.AppKeys)
			}

			var lines []int
			for _, r := range got.rejs {
				lines = append(lines, r.Line)
				if r.Reason == "" || r.Excerpt == "" || len(r.Excerpt) > 200 {
					t.Errorf("rejection at line %d: reason %q, excerpt of %d bytes", r.Line, r.Reason, len(r.Excerpt))
				}
			}
			if !slices.Equal(lines, exp.RejectedLines) && (len(lines) > 0 || len(exp.RejectedLines) > 0) {
				t.Errorf("rejected lines:\n got  %v\n want %v", lines, exp.RejectedLines)
				for i, r := range got.rejs {
					if i < 10 {
						t.Logf("  line %d: %s", r.Line, r.Reason)
					}
				}
			}

			if len(exp.Spot) == 0 {
				t.Fatal("the expect file has no sample events")
			}
			for _, want := range exp.Spot {
				if want.Index >= len(got.events) {
					t.Errorf("sample event %d: only %d events", want.Index, len(got.events))
					continue
				}
				compareEvent(t, got.events[want.Index], want)
			}
		})
	}
}

func compareEvent(t *testing.T, got UsageEvent, want fixturegen.Event) {
	t.Helper()
	var problems []string
	cmp := func(field, g, w string) {
		if g != w {
			problems = append(problems, field+" = "+quote(g)+", want "+quote(w))
		}
	}
	if want.SourceEventID == fixturegen.HashID {
		if !strings.HasPrefix(got.SourceEventID, "row:") || len(got.SourceEventID) != len("row:")+32 {
			problems = append(problems, "source event id "+quote(got.SourceEventID)+" is not a row hash")
		}
	} else {
		cmp("SourceEventID", got.SourceEventID, want.SourceEventID)
	}
	cmp("OccurredAt", got.OccurredAt.Format(time.RFC3339Nano), want.OccurredAt)
	cmp("UserEmail", got.UserEmail, want.UserEmail)
	cmp("UserID", got.UserID, want.UserID)
	cmp("AppKey", got.AppKey, want.AppKey)
	cmp("AppName", got.AppName, want.AppName)
	cmp("ClientID", got.ClientID, want.ClientID)
	cmp("Domain", got.Domain, want.Domain)
	cmp("Kind", string(got.Kind), want.Kind)
	cmp("Outcome", string(got.Outcome), want.Outcome)
	cmp("FailureReason", got.FailureReason, want.FailureReason)
	cmp("IP", got.IP, want.IP)
	cmp("UserAgent", got.UserAgent, want.UserAgent)
	if !slices.Equal(got.Scopes, want.Scopes) && (len(got.Scopes) > 0 || len(want.Scopes) > 0) {
		problems = append(problems, "Scopes = "+quote(strings.Join(got.Scopes, " "))+", want "+quote(strings.Join(want.Scopes, " ")))
	}
	if got.Source == "" {
		problems = append(problems, "no Source")
	}
	if len(problems) > 0 {
		t.Errorf("event %d (%s):\n  %s", want.Index, want.SourceEventID, strings.Join(problems, "\n  "))
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestReparseIsStable: parsing a fixture again yields the same events with the same ids, in the
// same order — the idempotency key of every record is a function of the record alone.
func TestReparseIsStable(t *testing.T) {
	for _, exp := range loadExpects(t) {
		path := filepath.Join("testdata", exp.File)
		a := parseFile(t, exp.Format, path)
		b := parseFile(t, exp.Format, path)
		if a.err != nil || b.err != nil {
			t.Fatalf("%s: %v / %v", exp.File, a.err, b.err)
		}
		if !reflect.DeepEqual(a.events, b.events) || !reflect.DeepEqual(a.rejs, b.rejs) {
			t.Errorf("%s: a second parse gives different results", exp.File)
		}
	}
}

// TestOverlappingExports: the same sign-ins exported twice (two Graph pages whose windows
// overlap, the portal's JSON download sharing twenty sign-ins with them, Google pages where the
// same activities carry their uniqueQualifier as a number in one and a string in the other) get
// the same ids, so a store keyed on (source, id) adds each once.
func TestOverlappingExports(t *testing.T) {
	graph := parseFile(t, "entra", "testdata/entra/graph_signins_pages.json")
	portal := parseFile(t, "entra", "testdata/entra/portal_signins.json")
	union := map[string]bool{}
	graphIDs := map[string]bool{}
	for _, e := range graph.events {
		union[e.SourceEventID] = true
		graphIDs[e.SourceEventID] = true
	}
	shared := 0
	for _, e := range portal.events {
		if graphIDs[e.SourceEventID] {
			shared++
		}
		union[e.SourceEventID] = true
	}
	if len(graph.events)-len(graphIDs) != 5 {
		t.Errorf("graph pages: %d events, %d distinct ids; want the 5 of the overlapping window twice", len(graph.events), len(graphIDs))
	}
	if shared != 20 || len(union) != len(graphIDs)+len(portal.events)-20 {
		t.Errorf("graph ∪ portal: %d shared, %d distinct; want 20 shared", shared, len(union))
	}

	tok := parseFile(t, "google", "testdata/google/token_pages.json")
	seen := map[string]int{}
	for _, e := range tok.events {
		seen[e.SourceEventID]++
	}
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	if dups == 0 || len(tok.events)-len(seen) != dups {
		t.Errorf("google token pages: %d events, %d distinct ids; the overlapping activities should repeat their ids exactly once", len(tok.events), len(seen))
	}
}

// TestBadInputs: each malformed input gives a *ParseError naming the expected line, with a
// message that says what is wrong.
func TestBadInputs(t *testing.T) {
	b, err := os.ReadFile("testdata/bad/expect.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []fixturegen.BadExpect
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d bad-input cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Format+"/"+filepath.Base(c.File), func(t *testing.T) {
			got := parseFile(t, c.Format, filepath.Join("testdata", c.File))
			var pe *ParseError
			if !errors.As(got.err, &pe) {
				t.Fatalf("%s (%s): err = %v, want a *ParseError", c.File, c.Why, got.err)
			}
			if pe.Line != c.Line {
				t.Errorf("line %d, want %d: %v", pe.Line, c.Line, got.err)
			}
			if pe.Format != c.Format {
				t.Errorf("format %q, want %q", pe.Format, c.Format)
			}
			msg := got.err.Error()
			if !strings.Contains(msg, "line ") {
				t.Errorf("message %q does not name the line", msg)
			}
			for _, s := range c.Contains {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
			if got.stats.Read != got.stats.Emitted+got.stats.Skipped+got.stats.Rejected {
				t.Errorf("stats do not add up: %+v", got.stats)
			}
			t.Logf("%s", msg)
		})
	}
}

// TestDetectFixtures: Detect names the format of every fixture from its first KB.
func TestDetectFixtures(t *testing.T) {
	for _, exp := range loadExpects(t) {
		f, err := os.Open(filepath.Join("testdata", exp.File))
		if err != nil {
			t.Fatal(err)
		}
		format, r, err := Sniff(f)
		if err != nil || format != exp.Format {
			t.Errorf("%s: Sniff = %q, %v; want %q", exp.File, format, err, exp.Format)
		}
		if err == nil {
			// The reader Sniff returns still yields the whole input.
			got := parseReader(t, format, r)
			if got.err != nil || got.stats.Emitted != exp.Emitted {
				t.Errorf("%s: parse after Sniff: %v, %d events, want %d", exp.File, got.err, got.stats.Emitted, exp.Emitted)
			}
		}
		f.Close()
	}
}
