// Command import measures importing a large Okta System Log, in one run:
//
//   - parse + normalise only, on one core (the child process runs with GOMAXPROCS(1));
//   - the same file counted by `jq -c '.[]' | wc -l`, the reference (skipped if jq is missing);
//   - end-to-end import (discovery.Store.Import) into SQLite and into PostgreSQL
//     (PAVED_TEST_POSTGRES_URL; skipped with a message when unset), then a re-import of the
//     same file into the same database, where every event is a duplicate.
//
// It generates the log first with internal/fixturegen, the generator of the discovery fixtures
// (N events, M users, K apps with Zipf-shaped popularity; a JSON array with one event per line),
// into a temporary folder. Each phase runs in a child process
// of this program, so the peak RSS reported is that phase's own (the child's VmHWM from
// /proc/self/status, read when the phase ends).
//
//	make bench-import                      # PostgreSQL from the test harness, 1,000,000 events
//	make bench-import ARGS='-events 200000'
//	make bench-import ARGS="-cpuprofile $PWD/prof"   # a CPU profile per phase
//	go run ./bench/import -events 200000 -users 5000 -apps 300
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/fixturegen"
)

// result is what a child process reports on its stdout, as one JSON object.
type result struct {
	Read      int     `json:"read"`
	Emitted   int     `json:"emitted"`
	New       int     `json:"new"`
	Duplicate int     `json:"duplicate"`
	Seconds   float64 `json:"seconds"`
	PeakKB    int     `json:"peak_kb"`
}

func main() {
	events := flag.Int("events", 1_000_000, "events in the generated Okta log")
	users := flag.Int("users", 5000, "users in the simulated organisation")
	apps := flag.Int("apps", 300, "app instances in the simulated organisation")
	seed := flag.Uint64("seed", 20240305, "generator seed")
	keep := flag.Bool("keep", false, "keep the temporary folder (the log and the SQLite database)")
	child := flag.String("child", "", "(internal) run one phase: parse or import")
	file := flag.String("file", "", "(internal) the log")
	dialect := flag.String("dialect", "", "(internal) sqlite or postgres")
	dsn := flag.String("dsn", "", "(internal) database")
	flag.StringVar(&profileDir, "cpuprofile", "", "write a CPU profile of each phase into this folder")
	profile := flag.String("profile", "", "(internal) the phase's CPU profile")
	flag.Parse()
	var err error
	if *child != "" {
		err = withProfile(*profile, func() error { return runChild(*child, *file, *dialect, *dsn) })
	} else {
		err = run(*events, *users, *apps, *seed, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/import:", err)
		os.Exit(1)
	}
}

// runChild runs one phase and prints its result.
func runChild(phase, file, dialect, dsn string) error {
	ctx := context.Background()
	var res result
	switch phase {
	case "parse":
		runtime.GOMAXPROCS(1) // one core: the parser and the garbage collector share it
		p, err := discovery.ParserFor(discovery.FormatOkta)
		if err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		start := time.Now()
		st, err := p.Parse(ctx, f, func(discovery.UsageEvent) error { res.Emitted++; return nil }, nil)
		res.Seconds = time.Since(start).Seconds()
		if err != nil {
			return err
		}
		res.Read = st.Read
	case "import":
		d, err := db.Open(ctx, db.Options{Dialect: db.Dialect(dialect), DSN: dsn})
		if err != nil {
			return err
		}
		defer d.Close()
		if _, err := d.Migrate(ctx); err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		start := time.Now()
		run, err := discovery.NewStore(d).Import(ctx, audit.Actor{Name: "bench"}, discovery.FormatOkta, filepath.Base(file), f)
		res.Seconds = time.Since(start).Seconds()
		if err != nil {
			return err
		}
		res.Read, res.New, res.Duplicate = run.Read, run.New, run.Duplicate
		res.Emitted = run.New + run.Duplicate
	default:
		return fmt.Errorf("unknown phase %q", phase)
	}
	res.PeakKB = peakRSS()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// profileDir is where the phases write CPU profiles (-cpuprofile); empty for none.
var profileDir string

// withProfile runs f, recording a CPU profile into path when path is set.
func withProfile(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

// peakRSS returns this process's peak resident set (VmHWM) in KiB, or 0 if unknown.
func peakRSS() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// phase runs this program as a child for one phase; name labels its CPU profile.
func phase(name string, args ...string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	if profileDir != "" {
		args = append(args, "-profile", filepath.Join(profileDir, name+".pprof"))
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return result{}, fmt.Errorf("%s: read result: %v (%q)", strings.Join(args, " "), err, out.String())
	}
	return res, nil
}

type row struct {
	name, events, rate, rss, note string
}

func run(nEvents, nUsers, nApps int, seed uint64, keep bool) error {
	if nEvents < 1 || nUsers < 2 || nApps < 2 {
		return errors.New("-events must be ≥ 1, -users and -apps ≥ 2")
	}
	dir, err := os.MkdirTemp("", "paved-bench-import-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	// The log.
	path := filepath.Join(dir, "okta.json")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	start := time.Now()
	gs, err := fixturegen.WriteOktaOrg(f, nEvents, nUsers, nApps, seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generated %d events (%d users, %d apps; %d emitted, %d distinct), %.0f MB in %s\n",
		gs.Events, gs.Users, gs.Apps, gs.Emitted, gs.Distinct, float64(info.Size())/1e6, time.Since(start).Round(time.Millisecond))

	var rows []row
	rate := func(n int, s float64) string { return fmt.Sprintf("%.0f", float64(n)/s) }
	mb := func(kb int) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }
	check := func(r result, wantNew int) string {
		var bad []string
		if r.Read != gs.Events {
			bad = append(bad, fmt.Sprintf("read %d, want %d", r.Read, gs.Events))
		}
		if r.Emitted != gs.Emitted {
			bad = append(bad, fmt.Sprintf("emitted %d, want %d", r.Emitted, gs.Emitted))
		}
		if wantNew >= 0 && r.New != wantNew {
			bad = append(bad, fmt.Sprintf("new %d, want %d", r.New, wantNew))
		}
		if len(bad) > 0 {
			return "MISMATCH: " + strings.Join(bad, "; ")
		}
		return ""
	}

	// Parse + normalise only.
	fmt.Fprintln(os.Stderr, "parse + normalise (GOMAXPROCS=1)…")
	parse, err := phase("parse", "-child", "parse", "-file", path)
	if err != nil {
		return err
	}
	rows = append(rows, row{"parse + normalise (1 core, GOMAXPROCS=1)", strconv.Itoa(parse.Read), rate(parse.Read, parse.Seconds), mb(parse.PeakKB),
		fmt.Sprintf("%.2f s, %.0f MB/s %s", parse.Seconds, float64(info.Size())/1e6/parse.Seconds, check(parse, -1))})

	// jq, the reference.
	if _, err := exec.LookPath("jq"); err != nil {
		rows = append(rows, row{"jq -c '.[]' | wc -l", "-", "-", "-", "jq is not installed (apt-get install -y jq); reference skipped"})
	} else {
		fmt.Fprintln(os.Stderr, "jq -c '.[]' | wc -l…")
		start := time.Now()
		jq := exec.Command("bash", "-c", `set -o pipefail; jq -c '.[]' "$1" | wc -l`, "bash", path)
		out, err := jq.Output()
		secs := time.Since(start).Seconds()
		jqRSS := "-"
		if jq.ProcessState != nil { // bash's peak, which includes the jq it waited for
			if ru, ok := jq.ProcessState.SysUsage().(*syscall.Rusage); ok {
				jqRSS = mb(int(ru.Maxrss))
			}
		}
		if err != nil {
			rows = append(rows, row{"jq -c '.[]' | wc -l", "-", "-", "-", "jq failed: " + err.Error()})
		} else {
			n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
			note := fmt.Sprintf("%.2f s; parse + normalise is %.1f× jq", secs, (float64(parse.Read)/parse.Seconds)/(float64(n)/secs))
			rows = append(rows, row{"jq -c '.[]' | wc -l (reference)", strconv.Itoa(n), rate(n, secs), jqRSS, note})
		}
	}

	// End-to-end imports.
	imports := func(label, dialect, dsn string) error {
		fmt.Fprintf(os.Stderr, "import into %s…\n", label)
		first, err := phase("import-"+dialect, "-child", "import", "-file", path, "-dialect", dialect, "-dsn", dsn)
		if err != nil {
			return err
		}
		rows = append(rows, row{"import into " + label, strconv.Itoa(first.Read), rate(first.Read, first.Seconds), mb(first.PeakKB),
			fmt.Sprintf("%.2f s, %d new, %d duplicate %s", first.Seconds, first.New, first.Duplicate, check(first, gs.Distinct))})
		fmt.Fprintf(os.Stderr, "re-import into %s…\n", label)
		again, err := phase("reimport-"+dialect, "-child", "import", "-file", path, "-dialect", dialect, "-dsn", dsn)
		if err != nil {
			return err
		}
		speedup := first.Seconds / again.Seconds
		goal := "meets the ≥ 3× goal"
		if speedup < 3 {
			goal = "MISSES the ≥ 3× goal"
		}
		rows = append(rows, row{"re-import into " + label, strconv.Itoa(again.Read), rate(again.Read, again.Seconds), mb(again.PeakKB),
			fmt.Sprintf("%.2f s, %d new, %.1f× faster than the first (%s) %s", again.Seconds, again.New, speedup, goal, check(again, 0))})
		return nil
	}
	if err := imports("SQLite", string(db.SQLite), filepath.Join(dir, "paved.db")); err != nil {
		return err
	}
	if base := os.Getenv("PAVED_TEST_POSTGRES_URL"); base == "" {
		rows = append(rows, row{"import into PostgreSQL", "-", "-", "-", "skipped: PAVED_TEST_POSTGRES_URL is unset (use make bench-import)"})
	} else {
		dsn, drop, err := pgSchema(base)
		if err != nil {
			return err
		}
		err = imports("PostgreSQL", string(db.Postgres), dsn)
		drop()
		if err != nil {
			return err
		}
	}

	fmt.Printf("\nOkta System Log: %d events, %d users, %d apps (Zipf), %.0f MB; %d CPUs, %s, %s/%s\n\n",
		gs.Events, gs.Users, gs.Apps, float64(info.Size())/1e6, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tEVENTS\tEVENTS/S\tPEAK RSS\tNOTES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.events, r.rate, r.rss, r.note)
	}
	return tw.Flush()
}

// pgSchema creates a schema of its own on the server at base and returns a URL that uses it and
// a function that drops it.
func pgSchema(base string) (string, func(), error) {
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1})
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bench_import_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
