package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
)

// TestImportSurvivesKill9 imports a large Okta log with the real binary, kills it with SIGKILL
// once some batches are committed, imports the file again and checks the database ends with
// exactly the file's events: the committed batches come back as duplicates, the rest as new.
//
// The killed run's import_runs row stays "running": Store.Import writes the run's end only when
// it returns, and nothing marks abandoned runs failed later (neither the next import nor
// startup). That is what this test pins down; a recovery that marks stale "running" runs
// "failed" would have to change the assertion on the first run.
func TestImportSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and imports a large file; skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "paved")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const events = 200_000
	logPath := filepath.Join(tmp, "okta.json")
	distinct, err := writeKillOkta(logPath, events)
	if err != nil {
		t.Fatal(err)
	}

	dataDir := filepath.Join(tmp, "data")
	env := []string{"PAVED_DATA_DIR=" + dataDir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAVED_") { // no settings of the caller's: SQLite in dataDir
			env = append(env, kv)
		}
	}
	importCmd := func() *exec.Cmd {
		cmd := exec.Command(bin, "import", "--format", "okta", logPath)
		cmd.Env = env
		return cmd
	}

	// First run: killed once some events are committed.
	var stderr strings.Builder
	first := importCmd()
	first.Stderr = &stderr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	ctx := context.Background()
	dbPath := filepath.Join(dataDir, "paved.db")
	var d *db.DB
	t.Cleanup(func() {
		if d != nil {
			d.Close()
		}
	})
	count := func() (int, error) {
		var n int
		err := d.GetContext(ctx, &n, "SELECT COUNT(*) FROM usage_events")
		return n, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("the import ended (%v) before it could be killed; make the file bigger\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("no events committed after 20 s\n%s", stderr.String())
		}
		if d == nil {
			if _, err := os.Stat(dbPath); err == nil {
				if d, err = db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: dbPath, MaxOpenConns: 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if d != nil {
			if n, err := count(); err == nil && n >= 5000 { // a few batches of 1000 are in
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = <-exited
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first import: want killed by SIGKILL, got %v", err)
	}
	committed, err := count()
	if err != nil {
		t.Fatal(err)
	}
	if committed == 0 || committed >= distinct {
		t.Fatalf("after the kill the database holds %d of %d events; want some but not all", committed, distinct)
	}
	t.Logf("killed with %d of %d events committed", committed, distinct)

	// Second run: to completion.
	out, err := importCmd().CombinedOutput()
	if err != nil {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	total, err := count()
	if err != nil {
		t.Fatal(err)
	}
	if total != distinct {
		t.Errorf("after the second import the database holds %d events; want the file's %d distinct event ids", total, distinct)
	}
	var dup int
	if err := d.GetContext(ctx, &dup, "SELECT COUNT(*) FROM (SELECT source, source_event_id FROM usage_events GROUP BY source, source_event_id HAVING COUNT(*) > 1) x"); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d event ids stored more than once", dup)
	}

	var runs []struct {
		ID     int64  `db:"id"`
		Status string `db:"status"`
		New    int    `db:"new_count"`
		Read   int    `db:"read_count"`
	}
	if err := d.SelectContext(ctx, &runs, "SELECT id, status, new_count, read_count FROM import_runs ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("import_runs: %+v; want 2 runs", runs)
	}
	// The killed run never wrote its end: it stays "running", with the events its committed
	// batches counted (storeBatch adds to new_count in the batch's own transaction).
	if runs[0].Status != discovery.RunRunning {
		t.Errorf("killed run status %q; want %q (nothing marks a crashed run failed)", runs[0].Status, discovery.RunRunning)
	}
	if runs[0].New != committed {
		t.Errorf("killed run new_count %d; want the %d committed events", runs[0].New, committed)
	}
	if runs[1].Status != discovery.RunFinished || runs[1].Read != events || runs[1].New != distinct-committed {
		t.Errorf("second run %+v; want finished, read %d, new %d", runs[1], events, distinct-committed)
	}
	// The usage rollups count every stored event once, the killed run's included.
	var rolled, stored int
	if err := d.GetContext(ctx, &rolled, "SELECT SUM(events) + SUM(failures) FROM usage_app_days"); err != nil {
		t.Fatal(err)
	}
	if err := d.GetContext(ctx, &stored, `SELECT COUNT(CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN 1 END)
		+ COUNT(CASE WHEN outcome = 'failure' THEN 1 END) FROM usage_events`); err != nil {
		t.Fatal(err)
	}
	if rolled != stored {
		t.Errorf("rollups count %d events, the database holds %d", rolled, stored)
	}
}

// writeKillOkta writes n Okta System Log events as a JSON array, one event per line: mostly app
// sign-ins across 40 apps, some Okta sign-ins (which the parser skips) and some duplicate
// deliveries of a recent event. It returns how many distinct event ids the store must keep.
func writeKillOkta(path string, n int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(6, 9))
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("[\n")
	type rec struct {
		line string
		kept bool
	}
	var recent []rec
	distinct := 0
	// Within the default retention, so the import keeps them.
	at := time.Now().UTC().AddDate(0, 0, -30).Truncate(time.Hour)
	for i := 0; i < n; i++ {
		var r rec
		if len(recent) > 10 && rng.IntN(100) < 3 {
			r = recent[len(recent)-1-rng.IntN(10)]
		} else {
			at = at.Add(time.Duration(1+rng.IntN(2000)) * time.Millisecond)
			uuid := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<16), rng.IntN(1<<16), rng.Uint64()&(1<<48-1))
			user := rng.IntN(2000)
			actor := fmt.Sprintf(`{"id":"00u%017d","type":"User","alternateId":"user%d@northwind.example","displayName":"User %d"}`, user, user, user)
			client := fmt.Sprintf(`{"ipAddress":"10.%d.%d.%d","userAgent":{"rawUserAgent":"Mozilla/5.0"}}`, rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
			published := at.Format("2006-01-02T15:04:05.000Z")
			if rng.IntN(10) == 0 {
				r.line = fmt.Sprintf(`{"actor":%s,"client":%s,"eventType":"user.session.start","outcome":{"result":"SUCCESS","reason":null},"published":"%s","uuid":"%s","version":"0","target":null}`,
					actor, client, published, uuid)
			} else {
				app := rng.IntN(40)
				r.line = fmt.Sprintf(`{"actor":%s,"client":%s,"eventType":"user.authentication.sso","outcome":{"result":"SUCCESS","reason":null},"published":"%s",`+
					`"debugContext":{"debugData":{"audience":"https://app%d.example.com"}},"uuid":"%s","version":"0",`+
					`"target":[{"id":"0oa%017d","type":"AppInstance","alternateId":"App %d","displayName":"App %d","detailEntry":{"signOnModeType":"SAML_2_0"}}]}`,
					actor, client, published, app, uuid, app, app, app)
				r.kept = true
				distinct++
			}
			recent = append(recent, r)
			if len(recent) > 64 {
				recent = append(recent[:0], recent[len(recent)-16:]...)
			}
		}
		w.WriteString(r.line)
		if i < n-1 {
			w.WriteString(",\n")
		} else {
			w.WriteString("\n")
		}
	}
	w.WriteString("]\n")
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return distinct, f.Close()
}
