package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssCeiling is the most a server may take to import any of the hostile uploads below.
const rssCeiling = 250 << 20

// TestHostileUploadsKeepMemoryBounded uploads logs made to exhaust memory to a real `paved
// serve` (one fresh process per upload) and reads the process's peak resident memory (VmHWM):
// blank space that compresses 1000:1 between records, one record with a string of 150 MB, a
// CSV line as long, and a file that decompresses past the configured limit. Each import ends
// (finished, or failed with an error naming the limit), and none takes the server over 250 MB.
func TestHostileUploadsKeepMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and uploads hundreds of MB; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read a process's peak memory")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "paved")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const uploadLimit = 20 << 20 // so the inflated limit is 200 MiB
	inflatedLimit := int64(10 * uploadLimit)
	env := []string{"PAVED_DATA_DIR=" + filepath.Join(tmp, "data"), "PAVED_MAX_UPLOAD_BYTES=" + strconv.Itoa(uploadLimit), "PAVED_LOG_LEVEL=warn"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAVED_") {
			env = append(env, kv)
		}
	}
	tok := exec.Command(bin, "token", "create", "--name", "memtest", "--scopes", "discovery:write")
	tok.Env = env
	out, err := tok.CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	secret := ""
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "pvd_") {
			secret = f
		}
	}
	if secret == "" {
		t.Fatalf("no token in %q", out)
	}

	const mb = 1 << 20
	okta := func(id string) string {
		return `{"uuid":"` + id + `","published":"2026-03-06T07:06:36.254Z","eventType":"user.authentication.sso","actor":{"id":"00u1","type":"User","alternateId":"ann@example.com"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"81.2.92.108"},"target":[{"id":"0oaAAA","type":"AppInstance","displayName":"Lucidchart"}],"debugContext":{"debugData":{"audience":"https://lucid.app/saml"}}}`
	}
	entra := func(id string) string {
		return `{"id":"` + id + `","createdDateTime":"2026-03-06T07:06:36Z","userPrincipalName":"ann@example.com","appDisplayName":"Lucid","appId":"11111111-1111-1111-1111-111111111111","status":{"errorCode":0}}`
	}
	cases := []struct {
		name, format string
		parts        []any // strings, or repeat{b, n}
		status       string
		says         string
	}{
		{"blanks inside an Okta array", "okta", []any{"[" + okta("a") + ",", repeat{' ', 150 * mb}, okta("b") + "]"}, "finished", ""},
		{"blank lines between NDJSON records", "okta", []any{okta("a") + "\n", repeat{'\n', 150 * mb}, okta("b") + "\n"}, "finished", ""},
		{"an Okta event with a 150 MB string", "okta", []any{"[" + okta("a") + `,{"uuid":"big","displayMessage":"`, repeat{'x', 150 * mb}, `"}]`}, "failed", "16 MiB, the limit for one record"},
		{"blanks inside an Entra page", "entra", []any{`{"value":[` + entra("a") + ",", repeat{' ', 150 * mb}, entra("b") + "]}"}, "failed", "16 MiB, the limit for one record"},
		{"a CSV line of 150 MB", "csv", []any{"time,user,app\n2026-01-01T00:00:00Z,a@example.com,Miro\n2026-01-01T00:00:00Z,b@example.com,\"", repeat{'x', 150 * mb}, "\"\n"}, "failed", "MiB"},
		{"a file that decompresses past the limit", "okta", []any{"[" + okta("a") + ",", repeat{' ', 400 * mb}, okta("b") + "]"}, "failed", strconv.FormatInt(inflatedLimit, 10) + " bytes"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tmp, fmt.Sprintf("upload-%d.gz", i))
			if err := writeGzip(path, tc.parts); err != nil {
				t.Fatal(err)
			}
			srv := startMemServer(t, bin, env)
			defer srv.stop()
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			req, _ := http.NewRequest("POST", srv.base+"/api/v1/discovery/imports?format="+tc.format+"&name=hostile.gz", f)
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct {
				Run struct {
					Status, Error string
				} `json:"run"`
			}
			_ = json.Unmarshal(body, &got)
			if got.Run.Status != tc.status || !strings.Contains(got.Run.Error, tc.says) {
				t.Errorf("%d: run %+v, want %s naming %q\n%s", resp.StatusCode, got.Run, tc.status, tc.says, body[:min(len(body), 500)])
			}
			peak := srv.peakRSS(t)
			t.Logf("%s: peak RSS %d MB (%s)", tc.name, peak>>20, got.Run.Status)
			if peak > rssCeiling {
				t.Errorf("peak RSS %d MB, over %d MB", peak>>20, rssCeiling>>20)
			}
		})
	}
}

// repeat is n copies of one byte, written without holding them.
type repeat struct {
	b byte
	n int
}

func writeGzip(path string, parts []any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	w := bufio.NewWriter(zw)
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			_, _ = w.WriteString(p)
		case repeat:
			chunk := []byte(strings.Repeat(string(p.b), 1<<20))
			for left := p.n; left > 0; left -= len(chunk) {
				_, _ = w.Write(chunk[:min(left, len(chunk))])
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

type memServer struct {
	cmd  *exec.Cmd
	base string
}

// startServer runs `paved serve` on a free port and waits until it answers.
func startMemServer(t *testing.T, bin string, env []string) *memServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "PAVED_LISTEN="+addr)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &memServer{cmd: cmd, base: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("server did not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// peakRSS is the process's peak resident memory so far, from /proc.
func (s *memServer) peakRSS(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func (s *memServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}
