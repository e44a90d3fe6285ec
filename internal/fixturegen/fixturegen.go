// Package fixturegen writes the discovery parsers' test fixtures (and the large logs of the
// import benchmarks): realistic logs in every
// documented shape of every format, generated deterministically from a fixed seed, each with an
// "expect" file saying what a correct parser makes of it. The expectations come from the
// generator's own model of each record (which user, which app, which outcome it meant to write,
// and which records it broke on purpose), not from running the parsers, so the tests that compare
// the two can fail.
//
// It imports nothing from package discovery: the app keys, normalised names and field mappings it
// expects are written out here by hand from DESIGN.md §4 and the parsers' documentation.
//
// Regenerate with: go test ./discovery -run TestFixturesUpToDate -update
package fixturegen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Seed is the fixed seed of every fixture.
const Seed = 20240305

// Expect is what a correct parser reports for one fixture.
type Expect struct {
	Format string `json:"format"`
	File   string `json:"file"`
	Shape  string `json:"shape"` // which documented shape the file is in

	Read     int `json:"read"`
	Emitted  int `json:"emitted"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`

	DistinctEventIDs int `json:"distinct_event_ids"`
	DistinctUsers    int `json:"distinct_users"`
	DistinctAppKeys  int `json:"distinct_app_keys"`

	Successes   int `json:"successes"`
	Failures    int `json:"failures"`
	Interrupted int `json:"interrupted"`
	Unknown     int `json:"unknown_outcomes"`
	SSOLogins   int `json:"sso_logins"`
	Grants      int `json:"grants"`
	Revokes     int `json:"revokes"`

	AppKeys       []string `json:"app_keys"`       // sorted
	RejectedLines []int    `json:"rejected_lines"` // in the order the parser reports them
	Spot          []Event  `json:"spot"`           // a sample of events, every field expected
}

// Event is an expected normalised event (field names follow discovery.UsageEvent).
type Event struct {
	Index         int      `json:"index"` // position among the fixture's emitted events, from 0
	SourceEventID string   `json:"source_event_id"`
	OccurredAt    string   `json:"occurred_at"` // RFC 3339, UTC, nanoseconds as needed
	UserEmail     string   `json:"user_email,omitempty"`
	UserID        string   `json:"user_id,omitempty"`
	AppKey        string   `json:"app_key"`
	AppName       string   `json:"app_name,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	Domain        string   `json:"domain,omitempty"`
	Kind          string   `json:"kind"`
	Outcome       string   `json:"outcome"`
	FailureReason string   `json:"failure_reason,omitempty"`
	IP            string   `json:"ip,omitempty"`
	UserAgent     string   `json:"user_agent,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
}

// BadExpect is a malformed input and the fatal error a parser must give for it.
type BadExpect struct {
	File     string   `json:"file"`
	Format   string   `json:"format"` // the parser it is fed to
	Line     int      `json:"line"`   // the line the error must name
	Contains []string `json:"contains"`
	Why      string   `json:"why"`
}

// Generate writes every fixture, its expect file, the malformed set (bad/) and the fuzz seed
// corpora (fuzz/FuzzXxx/) into dir, which is normally discovery/testdata.
func Generate(dir string) error {
	g := newGen()
	var files []genFile
	files = append(files, g.okta()...)
	files = append(files, g.entra()...)
	files = append(files, g.google()...)
	files = append(files, g.csv()...)
	files = append(files, g.bad()...)
	files = append(files, g.fuzzSeeds()...)
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type genFile struct {
	name string
	data []byte
}

// gen holds the simulated organisation every log is about.
type gen struct {
	rng    *rand.Rand
	people []person
	base   time.Time
	tenant string
	// zipf, when set, draws people for organisations too large for pick (benchmarks).
	zipf *rand.Zipf
}

type person struct {
	first, last string
	email       string
	oktaID      string
	entraID     string
	googleID    string
	city        city
}

type city struct{ name, state, cc, ipPrefix string }

var cities = []city{
	{"Seattle", "Washington", "US", "52.44."}, {"Austin", "Texas", "US", "66.90."},
	{"London", "England", "GB", "81.2."}, {"Berlin", "Berlin", "DE", "91.64."},
	{"Toronto", "Ontario", "CA", "99.230."}, {"Sydney", "New South Wales", "AU", "1.128."},
}

var firstNames = []string{"Alice", "Bilal", "Chen", "Dana", "Emeka", "Farah", "Gustavo", "Hana",
	"Ivan", "Jonas", "Kemi", "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sami",
	"Tomas", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carla", "Dev"}

var lastNames = []string{"Nguyen", "Okafor", "Schmidt", "Rossi", "Tanaka", "Silva", "Haddad",
	"Kowalski", "Johnson", "Dubois", "Larsen", "Moreau", "Patel", "Ivanova", "Garcia", "Kim"}

const orgDomain = "northwind.example"

func newGen() *gen { return newGenSeed(Seed) }

func newGenSeed(seed uint64) *gen {
	g := &gen{
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		base: time.Date(2024, 3, 1, 7, 0, 0, 0, time.UTC),
	}
	g.tenant = g.guid()
	seen := map[string]bool{}
	for len(g.people) < 72 {
		f := firstNames[g.rng.IntN(len(firstNames))]
		l := lastNames[g.rng.IntN(len(lastNames))]
		email := strings.ToLower(f + "." + l + "@" + orgDomain)
		if seen[email] {
			continue
		}
		seen[email] = true
		g.people = append(g.people, person{
			first: f, last: l, email: email,
			oktaID:   "00u" + g.token(17),
			entraID:  g.guid(),
			googleID: g.digits(21),
			city:     cities[g.rng.IntN(len(cities))],
		})
	}
	return g
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *gen) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '7'
	}
	return string(b)
}

func (g *gen) guid() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[g.rng.IntN(16)]
		}
	}
	return string(b)
}

// pick returns an index drawn with Zipf-like weights 1/(i+1).
func (g *gen) pick(n int) int {
	total := 0.0
	for i := 0; i < n; i++ {
		total += 1 / float64(i+1)
	}
	x := g.rng.Float64() * total
	for i := 0; i < n; i++ {
		x -= 1 / float64(i+1)
		if x < 0 {
			return i
		}
	}
	return n - 1
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// person returns a user, popular ones more often.
func (g *gen) person() *person {
	if g.zipf != nil {
		return &g.people[g.zipf.Uint64()]
	}
	return &g.people[g.pick(len(g.people))]
}

func (g *gen) ip(p *person) string {
	return fmt.Sprintf("%s%d.%d", p.city.ipPrefix, g.rng.IntN(256), 1+g.rng.IntN(254))
}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
	"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
}

// clock hands out increasing times, a few minutes apart, from the generator's base.
type clock struct {
	g *gen
	t time.Time
}

func (g *gen) clock(offset time.Duration) *clock { return &clock{g: g, t: g.base.Add(offset)} }

func (c *clock) next(precision time.Duration) time.Time {
	c.t = c.t.Add(time.Duration(20+c.g.rng.IntN(900)) * time.Second).Add(time.Duration(c.g.rng.Int64N(int64(time.Second))))
	return c.t.Truncate(precision)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// doc accumulates a fixture's bytes and counts its lines, so the generator knows the line each
// record starts on.
type doc struct {
	buf   bytes.Buffer
	lines int // newlines written so far
}

// line is the line the next byte lands on.
func (d *doc) line() int { return 1 + d.lines }

func (d *doc) str(s string) {
	d.buf.WriteString(s)
	d.lines += strings.Count(s, "\n")
}

func (d *doc) write(b []byte) {
	d.buf.Write(b)
	d.lines += bytes.Count(b, []byte{'\n'})
}

func (d *doc) bytes() []byte { return d.buf.Bytes() }

// tally computes a fixture's expectations from the records the generator means to write.
type tally struct {
	e     Expect
	ids   map[string]bool
	users map[string]bool
	apps  map[string]bool
	every int
}

func newTally(format, file, shape string, every int) *tally {
	return &tally{e: Expect{Format: format, File: file, Shape: shape}, ids: map[string]bool{},
		users: map[string]bool{}, apps: map[string]bool{}, every: every}
}

func (t *tally) emit(ev Event) { t.emitKeyed(ev, ev.SourceEventID) }

// emitKeyed counts an event whose idempotency key is idKey (for rows keyed by a hash the
// generator does not compute, a stand-in that is equal exactly when the rows are).
func (t *tally) emitKeyed(ev Event, idKey string) {
	ev.Index = t.e.Emitted
	t.e.Read++
	t.e.Emitted++
	t.ids[idKey] = true
	switch {
	case ev.UserEmail != "":
		t.users[ev.UserEmail] = true
	case ev.UserID != "":
		t.users["id:"+ev.UserID] = true
	}
	t.apps[ev.AppKey] = true
	switch ev.Outcome {
	case "success":
		t.e.Successes++
	case "failure":
		t.e.Failures++
	case "interrupted":
		t.e.Interrupted++
	default:
		t.e.Unknown++
	}
	switch ev.Kind {
	case "sso_login":
		t.e.SSOLogins++
	case "oauth_grant":
		t.e.Grants++
	case "oauth_revoke":
		t.e.Revokes++
	}
	if ev.Index%t.every == 0 {
		t.e.Spot = append(t.e.Spot, ev)
	}
}

func (t *tally) skip() { t.e.Read++; t.e.Skipped++ }

func (t *tally) reject(line int) {
	t.e.Read++
	t.e.Rejected++
	t.e.RejectedLines = append(t.e.RejectedLines, line)
}

// files returns the fixture and its expect file.
func (t *tally) files(data []byte) []genFile {
	t.e.DistinctEventIDs = len(t.ids)
	t.e.DistinctUsers = len(t.users)
	t.e.DistinctAppKeys = len(t.apps)
	for k := range t.apps {
		t.e.AppKeys = append(t.e.AppKeys, k)
	}
	sort.Strings(t.e.AppKeys)
	if t.e.RejectedLines == nil {
		t.e.RejectedLines = []int{}
	}
	exp, err := json.MarshalIndent(t.e, "", "  ")
	if err != nil {
		panic(err) // only plain data in Expect
	}
	return []genFile{
		{t.e.File, data},
		{expectName(t.e.File), append(exp, '\n')},
	}
}

// expectName is the expect file of a fixture: okta/logs.json → okta/logs.json.expect.json.
func expectName(file string) string { return file + ".expect.json" }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustIndent(v any, prefix string) []byte {
	b, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		panic(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// lower is how the parsers normalise e-mail addresses.
func lower(s string) string { return strings.ToLower(s) }
