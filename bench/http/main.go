// Command http measures the portal's HTML pages under load, in one run: a realistic mix (home,
// catalogue search, an app page, the requests page, the discovery list) at 8 and 32 clients, on
// SQLite with the embedded index and on PostgreSQL with Meilisearch, against a bare Gin handler
// that serves a page of the same size as the reference. The server is the real binary in a
// child process, so its memory (RSS) is its own.
//
//	make bench-http                      # starts PostgreSQL and Meilisearch like the tests do
//	make bench-http ARGS='-duration 20s'
//	make bench-http ARGS='-before /tmp/paved-old'   # an older binary beside this tree's, taking turns
//	make bench-http ARGS='-profile /tmp/prof'       # the server's CPU profile per backend
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/db"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each mix measurement (each single page gets half)")
	pgURL := flag.String("postgres-url", os.Getenv("PAVED_TEST_POSTGRES_URL"), "PostgreSQL server to create a scratch database on (empty: skip PostgreSQL)")
	meiliURL := flag.String("meili-url", os.Getenv("PAVED_TEST_MEILI_URL"), "Meilisearch for the PostgreSQL run (empty: the embedded index)")
	meiliKey := flag.String("meili-key", os.Getenv("PAVED_TEST_MEILI_KEY"), "Meilisearch key")
	before := flag.String("before", "", "a paved binary built from an earlier commit: measured beside this tree's, step by step, on its own database")
	profile := flag.String("profile", "", "folder to write each server's CPU profile to (the binary is built with -tags profile)")
	flag.Parse()
	o := options{dur: *duration, pgURL: *pgURL, meiliURL: *meiliURL, meiliKey: *meiliKey, before: *before, profile: *profile}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/http:", err)
		os.Exit(1)
	}
}

type options struct {
	dur                       time.Duration
	pgURL, meiliURL, meiliKey string
	before, profile           string
}

// page is one URL of the mix.
type page struct{ name, path string }

var mix = []page{
	{"home", "/"},
	{"catalogue search", "/apps?q=chat"},
	{"app page", "/apps/slack"},
	{"requests", "/requests"},
	{"discovery list", "/discovery"},
}

// result is one measurement.
type result struct {
	target, load  string
	clients       int
	rps           float64
	p50, p95, p99 time.Duration
	requests      int
	errors        int
	bytesPerReq   int
}

// variant is one binary under test: this tree's, and optionally an earlier one.
type variant struct {
	name, bin string
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "bench-http-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "paved")
	fmt.Fprintln(os.Stderr, "building paved")
	build := []string{"build", "-o", bin}
	if o.profile != "" {
		build = append(build, "-tags", "profile")
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	if out, err := exec.Command("go", append(build, "./cmd/paved")...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	variants := []variant{{"this tree", bin}}
	if o.before != "" {
		variants = []variant{{"before", o.before}, {"after", bin}}
	}

	var drops []func() // scratch PostgreSQL databases, dropped at the end
	type backend struct {
		name string
		env  func(dir string) (map[string]string, db.Options, error)
	}
	backends := []backend{{
		name: "SQLite + Bleve",
		env: func(dir string) (map[string]string, db.Options, error) {
			return map[string]string{"PAVED_DATA_DIR": dir}, db.Options{Dialect: db.SQLite, DSN: filepath.Join(dir, "paved.db")}, nil
		},
	}}
	if o.pgURL != "" {
		name := "PostgreSQL + Bleve"
		if o.meiliURL != "" {
			name = "PostgreSQL + Meilisearch"
		}
		backends = append(backends, backend{name: name, env: func(dir string) (map[string]string, db.Options, error) {
			dsn, drop, err := scratchDatabase(ctx, o.pgURL)
			if err != nil {
				return nil, db.Options{}, err
			}
			drops = append(drops, drop)
			env := map[string]string{"PAVED_DATA_DIR": dir, "PAVED_DATABASE_URL": dsn}
			if o.meiliURL != "" {
				// Variants share the index: both seed the same catalogue into it.
				env["PAVED_SEARCH_URL"], env["PAVED_SEARCH_KEY"] = o.meiliURL, o.meiliKey
			}
			return env, db.Options{Dialect: db.Postgres, DSN: dsn}, nil
		}})
	}
	defer func() {
		for _, d := range drops {
			d()
		}
	}()

	var results []result
	var bareSize int
	for i, b := range backends {
		type running struct {
			target string
			srv    *server
			cookie *http.Cookie
		}
		var live []running
		stopAll := func() {
			for _, r := range live {
				r.srv.stop()
			}
		}
		var sizes []int
		for j, v := range variants {
			target := b.name
			if len(variants) > 1 {
				target = b.name + ", " + v.name
			}
			dir := filepath.Join(tmp, fmt.Sprintf("b%dv%d", i, j))
			env, dsn, err := b.env(dir)
			if err != nil {
				stopAll()
				return fmt.Errorf("%s: %w", target, err)
			}
			if o.profile != "" && v.bin == bin {
				env["PAVED_PROFILE_CPU"] = filepath.Join(o.profile, strings.NewReplacer(" ", "", "+", "-").Replace(b.name)+".pprof")
			}
			fmt.Fprintf(os.Stderr, "%s: seeding\n", target)
			if err := prepare(ctx, v.bin, env); err != nil {
				stopAll()
				return fmt.Errorf("%s: %w", target, err)
			}
			cookie, err := session(ctx, dsn)
			if err != nil {
				stopAll()
				return fmt.Errorf("%s: %w", target, err)
			}
			srv, err := startServer(v.bin, env)
			if err != nil {
				stopAll()
				return fmt.Errorf("%s: %w", target, err)
			}
			live = append(live, running{target, srv, cookie})
			if sizes, err = warmUp(srv.base, cookie); err != nil {
				stopAll()
				return fmt.Errorf("%s: %w", target, err)
			}
		}
		if i == 0 {
			// The reference: a bare Gin handler serving a page as large as the mix's average,
			// measured first at the same client counts.
			total := 0
			for _, s := range sizes {
				total += s
			}
			bareSize = total / len(sizes)
			bare, stopBare, err := startBare(bareSize)
			if err != nil {
				stopAll()
				return err
			}
			for _, c := range []int{8, 32} {
				fmt.Fprintf(os.Stderr, "bare gin: %d clients\n", c)
				results = append(results, load("bare Gin handler", "same-size page", bare, nil, []page{{"bare", "/"}}, c, o.dur))
			}
			stopBare()
		}
		// Variants take turns at each step, so that a noisy neighbour hits both alike.
		for _, c := range []int{8, 32} {
			for _, r := range live {
				fmt.Fprintf(os.Stderr, "%s: mix at %d clients\n", r.target, c)
				results = append(results, load(r.target, "mix", r.srv.base, r.cookie, mix, c, o.dur))
			}
		}
		for _, p := range mix {
			for _, r := range live {
				fmt.Fprintf(os.Stderr, "%s: %s at 32 clients\n", r.target, p.name)
				results = append(results, load(r.target, p.name, r.srv.base, r.cookie, []page{p}, 32, o.dur/2))
			}
		}
		for _, r := range live {
			rss, hwm := memory(r.srv.cmd.Process.Pid)
			fmt.Printf("%s: server RSS %d MB after %s of load (peak %d MB)\n", r.target, rss>>20, r.srv.uptime().Round(time.Second), hwm>>20)
		}
		stopAll()
	}
	report(results, bareSize)
	return nil
}

// scratchDatabase creates an empty database on the server and returns its URL and a function
// that drops it.
func scratchDatabase(ctx context.Context, base string) (string, func(), error) {
	admin, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1})
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "bench_http_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, err
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}

// prepare loads the curated catalogue with the demo decisions and a small Okta log, so that
// every page of the mix has something to show.
func prepare(ctx context.Context, bin string, env map[string]string) error {
	for _, args := range [][]string{
		{"seed", "--demo"},
		{"import", "--format", "okta", filepath.Join("discovery", "testdata", "okta", "logs_array.json")},
	} {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = environ(env)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("paved %s: %v\n%s", args[0], err, out)
		}
	}
	return nil
}

// session signs a security user in, as the identity provider's callback would, and returns the
// session cookie.
func session(ctx context.Context, o db.Options) (*http.Cookie, error) {
	d, err := db.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	_, secret, err := auth.NewService(d, auth.Options{}).SignIn(ctx,
		auth.Identity{Issuer: "https://idp.example", Subject: "bench", Email: "bench@example.com", Name: "Bench Mark"},
		auth.ParseRoleSet("employee,security"), "", auth.ClientInfo{IP: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	return &http.Cookie{Name: "paved_session", Value: secret}, nil
}

func environ(settings map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAVED_") {
			env = append(env, kv)
		}
	}
	env = append(env, "PAVED_LISTEN=127.0.0.1:0", "PAVED_LOG_FORMAT=json", "PAVED_USAGE_RETENTION=87600h")
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

type server struct {
	cmd     *exec.Cmd
	base    string
	started time.Time
	done    chan struct{}
}

func (s *server) uptime() time.Duration { return time.Since(s.started) }

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// startServer runs `paved serve` and waits until it says where it listens. It logs as in
// production (JSON, info), which is part of the cost of a request.
func startServer(bin string, settings map[string]string) (*server, error) {
	s := &server{cmd: exec.Command(bin, "serve"), done: make(chan struct{}), started: time.Now()}
	s.cmd.Env = environ(settings)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "paved is serving" {
				a, _ := line["listen"].(string)
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("paved serve exited before serving")
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("paved serve did not start within 60 s")
	}
}

// warmUp fetches every page of the mix once, checks it answers 200, and returns the sizes.
func warmUp(base string, cookie *http.Cookie) ([]int, error) {
	var sizes []int
	for range 3 {
		sizes = sizes[:0]
		for _, p := range mix {
			req, _ := http.NewRequest("GET", base+p.path, nil)
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET %s = %d", p.path, resp.StatusCode)
			}
			sizes = append(sizes, len(b))
		}
	}
	return sizes, nil
}

// startBare serves a fixed HTML page of size bytes with Gin in release mode, with no
// middleware: the ceiling of what any handler on this machine can do.
func startBare(size int) (string, func(), error) {
	gin.SetMode(gin.ReleaseMode)
	body := []byte("<!doctype html><html><body>" + strings.Repeat("x", max(0, size-42)) + "</body></html>")
	r := gin.New()
	r.GET("/", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", body) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = hs.Close() }, nil
}

// load runs clients concurrent loops over pages for dur and measures them.
func load(target, name, base string, cookie *http.Cookie, pages []page, clients int, dur time.Duration) result {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		mu    sync.Mutex
		lats  []time.Duration
		errs  int
		bytes int
		wg    sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(dur)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs, myBytes := 0, 0
			for i := c; time.Now().Before(deadline); i++ {
				p := pages[i%len(pages)]
				req, _ := http.NewRequest("GET", base+p.path, nil)
				if cookie != nil {
					req.AddCookie(cookie)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					myErrs++
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				myBytes += int(n)
				if resp.StatusCode != http.StatusOK {
					myErrs++
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += myErrs
			bytes += myBytes
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	pct := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(float64(len(lats))*q))]
	}
	r := result{target: target, load: name, clients: clients, rps: float64(len(lats)) / elapsed.Seconds(),
		p50: pct(0.50), p95: pct(0.95), p99: pct(0.99), requests: len(lats), errors: errs}
	if len(lats) > 0 {
		r.bytesPerReq = bytes / len(lats)
	}
	return r
}

// memory returns the resident and peak resident memory of a process, in bytes, from /proc.
func memory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm
}

func report(results []result, bareSize int) {
	bare := map[int]float64{}
	for _, r := range results {
		if r.load == "same-size page" {
			bare[r.clients] = r.rps
		}
	}
	fmt.Printf("\nbare Gin page: %d bytes (the mix's average)\n\n", bareSize)
	fmt.Printf("| target | load | clients | req/s | × bare | p50 | p95 | p99 | bytes | errors |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		ratio := r.rps / bare[r.clients]
		fmt.Printf("| %s | %s | %d | %.0f | %.2f | %s | %s | %s | %d | %d |\n", r.target, r.load, r.clients, r.rps, ratio,
			ms(r.p50), ms(r.p95), ms(r.p99), r.bytesPerReq, r.errors)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
