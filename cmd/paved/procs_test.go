package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The paved binary, built once for every test of this package that runs it as a process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pavedBinary builds ./cmd/paved once per test run and returns its path.
func pavedBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "paved-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "paved")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// server is a `paved serve` process started by a test, with its JSON log lines kept.
type server struct {
	cmd   *exec.Cmd
	addr  string // host:port it listens on, once it reported serving
	mu    sync.Mutex
	lines []map[string]any
	raw   strings.Builder
	done  chan struct{}
	err   error // how it exited, once done is closed
}

// serverEnv returns the environment for a server: the caller's minus every PAVED_ setting, so
// that nothing of the machine's leaks in, plus settings.
func serverEnv(settings map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAVED_") {
			env = append(env, kv)
		}
	}
	env = append(env, "PAVED_LISTEN=127.0.0.1:0", "PAVED_LOG_FORMAT=json")
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// startServer starts `paved serve` with settings and returns at once; waitServing waits for it.
// The process is killed when the test ends if it is still running.
func startServer(t testing.TB, bin string, settings map[string]string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(bin, "serve"), done: make(chan struct{})}
	s.cmd.Env = serverEnv(settings)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line map[string]any
			s.mu.Lock()
			s.raw.Write(sc.Bytes())
			s.raw.WriteByte('\n')
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				s.lines = append(s.lines, line)
				if line["msg"] == "paved is serving" {
					s.addr, _ = line["listen"].(string)
				}
			}
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// waitServing waits until the server reports it is serving and returns its base URL.
func (s *server) waitServing(t testing.TB, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		addr := s.addr
		s.mu.Unlock()
		if addr != "" {
			return "http://" + addr
		}
		select {
		case <-s.done:
			t.Fatalf("paved serve exited (%v) before serving; its log:\n%s", s.err, s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("paved serve did not report serving within %s; its log:\n%s", within, s.log())
	return ""
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("paved serve exited with %v after SIGTERM; its log:\n%s", s.err, s.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("paved serve did not stop within 30 s of SIGTERM")
	}
}

// logged returns the values of key in the log lines whose message is msg.
func (s *server) logged(msg, key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if l["msg"] == msg {
			v, _ := l[key].(string)
			out = append(out, v)
		}
	}
	return out
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}
