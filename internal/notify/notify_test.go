package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/testutil"
)

// wait bounds every wait: long enough for a slow CI machine (a retry comes after River's first
// backoff of about a second), short enough that a lost message fails instead of hanging.
const wait = 20 * time.Second

// --- a real SMTP server ----------------------------------------------------------------------

// smtpOptions shape the test server's behaviour.
type smtpOptions struct {
	STARTTLS   bool   // offer STARTTLS (needs the test certificate)
	Implicit   bool   // TLS from the first byte, as on port 465
	User, Pass string // require sign-in with these
	Mechs      string // AUTH mechanisms offered; default "PLAIN LOGIN"
	RejectRcpt string // answer RCPT TO for this address with 550
	FailFirst  int32  // answer this many connections with 421 and hang up
	Listen     string // address to listen on; default 127.0.0.1:0
}

// received is one message as the server saw it.
type received struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
	Helo     string
}

// smtpServer is a small SMTP server speaking enough of RFC 5321 (EHLO, STARTTLS, AUTH PLAIN
// and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) over real TCP for net/smtp to deliver to it.
type smtpServer struct {
	opts     smtpOptions
	tls      *tls.Config
	host     string
	port     int
	failLeft atomic.Int32
	conns    atomic.Int32
	auths    atomic.Int32 // AUTH commands seen
	got      chan received
}

func startSMTP(t *testing.T, opts smtpOptions, cert *tls.Config) *smtpServer {
	t.Helper()
	addr := opts.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if opts.Implicit {
		ln = tls.NewListener(ln, cert)
	}
	if opts.Mechs == "" {
		opts.Mechs = "PLAIN LOGIN"
	}
	s := &smtpServer{opts: opts, tls: cert, got: make(chan received, 100)}
	s.failLeft.Store(opts.FailFirst)
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s.host = host
	s.port, _ = strconv.Atoi(port)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	s.conns.Add(1)
	_ = conn.SetDeadline(time.Now().Add(wait))
	_, isTLS := conn.(*tls.Conn)
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	if s.failLeft.Add(-1) >= 0 {
		reply("421 4.3.2 Service not available, try again later")
		return
	}
	reply("220 mx.test ESMTP ready")

	var cur received
	var authUser, helo string
	reset := func() { cur = received{} }
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			helo = arg
			ext := []string{"mx.test greets " + arg, "8BITMIME", "SIZE 10240000"}
			if s.opts.STARTTLS && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if s.opts.User != "" {
				ext = append(ext, "AUTH "+s.opts.Mechs)
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "HELO":
			helo = arg
			reply("250 mx.test")
		case "STARTTLS":
			if !s.opts.STARTTLS || isTLS {
				reply("502 5.5.1 STARTTLS not offered")
				continue
			}
			reply("220 2.0.0 Ready to start TLS")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, isTLS = tc, true
			tp = textproto.NewConn(tc)
			authUser, helo = "", "" // RFC 3207: forget everything said before TLS
			reset()
		case "AUTH":
			s.auths.Add(1)
			user, pass, ok := s.readAuth(tp, arg)
			if !ok || user != s.opts.User || pass != s.opts.Pass {
				reply("535 5.7.8 Authentication credentials invalid")
				continue
			}
			authUser = user
			reply("235 2.7.0 Authentication successful")
		case "MAIL":
			if s.opts.User != "" && authUser == "" {
				reply("530 5.7.0 Authentication required")
				continue
			}
			cur = received{From: angle(arg), TLS: isTLS, AuthUser: authUser, Helo: helo}
			reply("250 2.1.0 OK")
		case "RCPT":
			if cur.From == "" {
				reply("503 5.5.1 MAIL first")
				continue
			}
			to := angle(arg)
			if strings.EqualFold(to, s.opts.RejectRcpt) {
				reply("550 5.1.1 <%s>: no such user here", to)
				continue
			}
			cur.To = append(cur.To, to)
			reply("250 2.1.5 OK")
		case "DATA":
			if len(cur.To) == 0 {
				reply("503 5.5.1 RCPT first")
				continue
			}
			reply("354 End data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = data
			s.got <- cur
			reset()
			reply("250 2.0.0 OK queued")
		case "RSET":
			reset()
			reply("250 2.0.0 OK")
		case "NOOP":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("502 5.5.2 Command not recognised")
		}
	}
}

// readAuth runs the server side of AUTH PLAIN or AUTH LOGIN.
func (s *smtpServer) readAuth(tp *textproto.Conn, arg string) (user, pass string, ok bool) {
	mech, initial, _ := strings.Cut(arg, " ")
	ask := func(prompt string) (string, bool) {
		_ = tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt)))
		line, err := tp.ReadLine()
		if err != nil {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(line)
		return string(b), err == nil
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if !strings.Contains(s.opts.Mechs, "PLAIN") {
			return "", "", false
		}
		var creds string
		if initial == "" {
			if creds, ok = ask(""); !ok {
				return "", "", false
			}
		} else {
			b, err := base64.StdEncoding.DecodeString(initial)
			if err != nil {
				return "", "", false
			}
			creds = string(b)
		}
		parts := strings.Split(creds, "\x00")
		if len(parts) != 3 {
			return "", "", false
		}
		return parts[1], parts[2], true
	case "LOGIN":
		if !strings.Contains(s.opts.Mechs, "LOGIN") {
			return "", "", false
		}
		if user, ok = ask("Username:"); !ok {
			return "", "", false
		}
		if pass, ok = ask("Password:"); !ok {
			return "", "", false
		}
		return user, pass, true
	}
	return "", "", false
}

// angle takes the address out of "FROM:<a@b> BODY=8BITMIME".
func angle(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.got:
		return m
	case <-time.After(wait):
		t.Fatalf("no e-mail arrived within %s", wait)
		return received{}
	}
}

// none checks that no further message arrived.
func (s *smtpServer) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-s.got:
		t.Errorf("unexpected e-mail to %v:\n%s", m.To, m.Data)
	default:
	}
}

// testTLS makes a self-signed certificate for 127.0.0.1 and localhost: the server's TLS
// config, and a client config that trusts it (and nothing else).
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Paved test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// parsed is a received message read back the way a mail client would.
type parsed struct {
	header  mail.Header
	subject string
	body    string
}

func parse(t *testing.T, m received) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	return parsed{header: msg.Header, subject: subject, body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

// --- a real webhook --------------------------------------------------------------------------

type post struct {
	ContentType string
	Path        string
	Text        string
}

// webhook is a Slack-compatible incoming webhook that answers with the given statuses in turn
// (the last one for ever after) and records every post.
type webhook struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	posts    []post
	got      chan post
}

func startWebhook(t *testing.T, statuses ...int) *webhook {
	t.Helper()
	h := &webhook{statuses: statuses, got: make(chan post, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		raw, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || json.Unmarshal(raw, &body) != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		p := post{ContentType: r.Header.Get("Content-Type"), Path: r.URL.Path, Text: body.Text}
		h.mu.Lock()
		status := h.statuses[min(len(h.posts), len(h.statuses)-1)]
		h.posts = append(h.posts, p)
		h.mu.Unlock()
		h.got <- p
		switch status {
		case http.StatusOK:
			_, _ = io.WriteString(w, "ok")
		case http.StatusNotFound:
			http.Error(w, "no_service", status)
		default:
			http.Error(w, "internal_error", status)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// url is the webhook's address; its path plays the secret token of a real webhook.
func (h *webhook) url() string { return h.srv.URL + secretPath }

const secretPath = "/services/T0PAVED/B0TEST/s3cr3tT0ken"

func (h *webhook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.posts)
}

func (h *webhook) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-h.got:
		return p
	case <-time.After(wait):
		t.Fatalf("no webhook post arrived within %s", wait)
		return post{}
	}
}

// --- River on a real database ----------------------------------------------------------------

// forEachBackend runs test on SQLite and, when PAVED_TEST_POSTGRES_URL is set, PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			test(t, b.Open(t))
		})
	}
}

// newJobs returns a migrated, fast-polling job runner with n's workers, not yet started.
func newJobs(t *testing.T, d *db.DB, n *Notifier) *jobs.Jobs {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError + 1}))
	j, err := jobs.New(ctx, d, log, jobs.Options{TestOnly: true})
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(j.Close)
	if _, err := j.Migrate(ctx); err != nil {
		t.Fatalf("migrate jobs: %v", err)
	}
	n.Register(j)
	return j
}

func start(t *testing.T, j *jobs.Jobs) {
	t.Helper()
	if err := j.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// enqueue is a domain change in miniature: the event is queued in a transaction that commits
// unless fail is set.
func enqueue(t *testing.T, d *db.DB, j *jobs.Jobs, n *Notifier, ev Event, fail error) error {
	t.Helper()
	ctx := context.Background()
	return d.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := n.EnqueueTx(ctx, j, tx, ev); err != nil {
			t.Fatalf("EnqueueTx: %v", err)
		}
		return fail
	})
}

type jobRow struct {
	ID      int64  `db:"id"`
	Kind    string `db:"kind"`
	State   string `db:"state"`
	Attempt int    `db:"attempt"`
	Max     int    `db:"max_attempts"`
	Errors  string `db:"errors"`
}

func notifyJobs(t *testing.T, d *db.DB) []jobRow {
	t.Helper()
	// River keeps errors as jsonb[] on PostgreSQL and as a JSONB blob on SQLite.
	errorsText := "CAST(errors AS TEXT)"
	if d.Dialect == db.SQLite {
		errorsText = "json(errors)"
	}
	var rows []jobRow
	err := d.Select(&rows, `SELECT id, kind, state, attempt, max_attempts, COALESCE(`+errorsText+`, '') AS errors
		FROM river_job WHERE kind IN ('notify.email', 'notify.slack') ORDER BY id`)
	if err != nil {
		t.Fatalf("read jobs: %v", err)
	}
	return rows
}

// waitFinal waits until there are want notification jobs and every one is finalised
// (completed, cancelled or discarded), and returns them.
func waitFinal(t *testing.T, d *db.DB, want int) []jobRow {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		rows := notifyJobs(t, d)
		done := len(rows) == want
		for _, r := range rows {
			switch rivertype.JobState(r.State) {
			case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
			default:
				done = false
			}
		}
		if done {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification jobs did not finish within %s: %+v", wait, rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var fixedNow = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// fullConfig configures both channels: STARTTLS with sign-in against s, and the webhook h.
func fullConfig(s *smtpServer, client *tls.Config, h *webhook) Config {
	return Config{
		SMTP: SMTPConfig{
			Host: s.host, Port: s.port, Username: "paved", Password: "hunter2",
			From: "Paved <paved@example.com>", TLS: "starttls", TLSConfig: client,
		},
		SlackWebhookURL: h.url(),
		BaseURL:         "https://paved.example.com",
		Now:             func() time.Time { return fixedNow },
	}
}

// --- end to end ------------------------------------------------------------------------------

func TestDecisionIsMailedAndPosted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		serverTLS, clientTLS := testTLS(t)
		s := startSMTP(t, smtpOptions{STARTTLS: true, User: "paved", Pass: "hunter2"}, serverTLS)
		h := startWebhook(t, http.StatusOK)
		n := New(fullConfig(s, clientTLS, h))
		j := newJobs(t, d, n)
		start(t, j)

		ev := Event{
			Kind:      Decided,
			RequestID: 42,
			// Text typed by a requester must stay text: no extra header, no @channel.
			Title:      "Miro\r\nBcc: eve@example.com <!channel>",
			Summary:    "Use SSO and keep customer data out of boards.\n\nThe pilot ends on 30 June.",
			Recipients: []string{"Ann Example <ann@example.com>", "bob@example.com", "ANN@example.com", "not an address", ""},
			Outcome:    "approved_with_conditions",
		}
		if err := enqueue(t, d, j, n, ev, nil); err != nil {
			t.Fatalf("commit: %v", err)
		}

		byTo := map[string]received{}
		for range 2 {
			m := s.next(t)
			if len(m.To) != 1 {
				t.Fatalf("envelope recipients = %v, want one per message", m.To)
			}
			byTo[m.To[0]] = m
		}
		wantTitle := "Miro Bcc: eve@example.com <!channel>"
		wantBody := `The request "` + wantTitle + `" was decided: approved with conditions.

Use SSO and keep customer data out of boards.

The pilot ends on 30 June.

See https://paved.example.com/requests/42

-- 
Paved sends this because you take part in this request.
`
		for _, to := range []string{"ann@example.com", "bob@example.com"} {
			m, ok := byTo[to]
			if !ok {
				t.Fatalf("no e-mail to %s; got %v", to, byTo)
			}
			if m.From != "paved@example.com" || !m.TLS || m.AuthUser != "paved" {
				t.Errorf("to %s: envelope from %q, TLS %v, signed in as %q; want paved@example.com over TLS as paved", to, m.From, m.TLS, m.AuthUser)
			}
			if m.Helo != "paved.example.com" {
				t.Errorf("EHLO %q, want the portal's host name", m.Helo)
			}
			p := parse(t, m)
			if got := p.header.Get("To"); got != "<"+to+">" {
				t.Errorf("To: %q, want <%s>", got, to)
			}
			if got := p.header.Get("From"); got != `"Paved" <paved@example.com>` {
				t.Errorf("From: %q", got)
			}
			if want := "Decided: " + wantTitle + " (approved with conditions)"; p.subject != want {
				t.Errorf("Subject: %q, want %q", p.subject, want)
			}
			if p.body != wantBody {
				t.Errorf("body:\n%s\nwant:\n%s", p.body, wantBody)
			}
			if got := p.header.Get("Date"); got != fixedNow.Format(time.RFC1123Z) {
				t.Errorf("Date: %q, want the injected clock's %q", got, fixedNow.Format(time.RFC1123Z))
			}
			if p.header.Get("Bcc") != "" || p.header.Get("Message-Id") == "" || p.header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("headers: %v", p.header)
			}
			if strings.Contains(string(m.Data), "hunter2") {
				t.Error("the SMTP password is in the message")
			}
		}
		s.none(t)

		pst := h.next(t)
		if pst.ContentType != "application/json" || pst.Path != secretPath {
			t.Errorf("post: Content-Type %q to %q", pst.ContentType, pst.Path)
		}
		wantSlack := `The request "Miro Bcc: eve@example.com &lt;!channel&gt;" was decided: approved with conditions.
Use SSO and keep customer data out of boards.

The pilot ends on 30 June.
See https://paved.example.com/requests/42`
		if pst.Text != wantSlack {
			t.Errorf("Slack text:\n%s\nwant:\n%s", pst.Text, wantSlack)
		}

		rows := waitFinal(t, d, 3)
		kinds := map[string]int{}
		for _, r := range rows {
			kinds[r.Kind]++
			if r.State != string(rivertype.JobStateCompleted) || r.Attempt != 1 || r.Max != MaxAttempts {
				t.Errorf("job %+v; want completed on the first of %d attempts", r, MaxAttempts)
			}
		}
		if kinds[EmailKind] != 2 || kinds[SlackKind] != 1 {
			t.Errorf("jobs by kind = %v, want 2 e-mails and 1 post", kinds)
		}
		if h.count() != 1 {
			t.Errorf("%d posts, want 1", h.count())
		}
	})
}

func TestWebhook500IsRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		h := startWebhook(t, http.StatusInternalServerError, http.StatusOK)
		n := New(Config{SlackWebhookURL: h.url(), BaseURL: "https://paved.example.com"})
		j := newJobs(t, d, n)
		start(t, j)

		ev := Event{Kind: Submitted, RequestID: 7, Title: "Proposal for Miro", Recipients: []string{"ann@example.com"}}
		if err := enqueue(t, d, j, n, ev, nil); err != nil {
			t.Fatal(err)
		}
		first, second := h.next(t), h.next(t)
		if first.Text != second.Text || first.Text != `The request "Proposal for Miro" was submitted and is waiting for review.
See https://paved.example.com/requests/7` {
			t.Errorf("posts %q then %q", first.Text, second.Text)
		}
		rows := waitFinal(t, d, 1)
		if r := rows[0]; r.State != string(rivertype.JobStateCompleted) || r.Attempt != 2 || !strings.Contains(r.Errors, "500 Internal Server Error") {
			t.Errorf("job %+v; want completed on attempt 2 after a recorded 500", r)
		}
		if strings.Contains(rows[0].Errors, secretPath) {
			t.Errorf("the webhook URL is in the job's errors: %s", rows[0].Errors)
		}
		if h.count() != 2 {
			t.Errorf("%d posts, want 2", h.count())
		}
	})
}

func TestWebhook404IsNotRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		h := startWebhook(t, http.StatusNotFound)
		n := New(Config{SlackWebhookURL: h.url()})
		j := newJobs(t, d, n)
		start(t, j)

		if err := enqueue(t, d, j, n, Event{Kind: VoteOpened, RequestID: 3, Title: "Figma"}, nil); err != nil {
			t.Fatal(err)
		}
		h.next(t)
		rows := waitFinal(t, d, 1)
		r := rows[0]
		if r.State != string(rivertype.JobStateCancelled) || r.Attempt != 1 || !strings.Contains(r.Errors, "404 Not Found (no_service)") {
			t.Errorf("job %+v; want cancelled after one attempt answered 404", r)
		}
		if strings.Contains(r.Errors, secretPath) {
			t.Errorf("the webhook URL is in the job's errors: %s", r.Errors)
		}
		// A cancelled job is final; give River a moment to prove it does not post again.
		time.Sleep(1500 * time.Millisecond)
		if h.count() != 1 {
			t.Errorf("%d posts, want exactly 1", h.count())
		}
	})
}

func TestRolledBackChangeSendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		serverTLS, clientTLS := testTLS(t)
		s := startSMTP(t, smtpOptions{STARTTLS: true, User: "paved", Pass: "hunter2"}, serverTLS)
		h := startWebhook(t, http.StatusOK)
		n := New(fullConfig(s, clientTLS, h))
		j := newJobs(t, d, n)
		start(t, j)

		boom := errors.New("the decision failed validation")
		undone := Event{Kind: Decided, RequestID: 1, Title: "Undone", Outcome: "approved", Recipients: []string{"ann@example.com"}}
		if err := enqueue(t, d, j, n, undone, boom); !errors.Is(err, boom) {
			t.Fatalf("transaction = %v, want %v", err, boom)
		}
		if rows := notifyJobs(t, d); len(rows) != 0 {
			t.Fatalf("jobs after rollback: %+v, want none", rows)
		}
		// A committed event afterwards is the only thing that arrives.
		kept := Event{Kind: Decided, RequestID: 2, Title: "Kept", Outcome: "approved", Recipients: []string{"ann@example.com"}}
		if err := enqueue(t, d, j, n, kept, nil); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, d, 2)
		if p := parse(t, s.next(t)); p.subject != "Decided: Kept (approved)" {
			t.Errorf("e-mail subject %q, want the committed event's", p.subject)
		}
		if p := h.next(t); !strings.Contains(p.Text, `"Kept"`) {
			t.Errorf("post %q, want the committed event's", p.Text)
		}
		s.none(t)
		if h.count() != 1 {
			t.Errorf("%d posts, want 1", h.count())
		}
	})
}

func TestNothingQueuedWithoutChannels(t *testing.T) {
	d := testutil.SQLite(t)
	ev := Event{Kind: Submitted, RequestID: 1, Title: "Miro", Recipients: []string{"ann@example.com"}}

	off := New(Config{BaseURL: "https://paved.example.com"})
	if off.EmailEnabled() || off.SlackEnabled() {
		t.Fatal("a Notifier without settings reports a channel on")
	}
	j := newJobs(t, d, off)
	if err := enqueue(t, d, j, off, ev, nil); err != nil {
		t.Fatal(err)
	}
	// E-mail on but nobody to write to, and no webhook: still nothing.
	mailOnly := New(Config{SMTP: SMTPConfig{Host: "127.0.0.1", From: "paved@example.com"}})
	if err := enqueue(t, d, j, mailOnly, Event{Kind: Submitted, Title: "Miro", Recipients: []string{"nobody"}}, nil); err != nil {
		t.Fatal(err)
	}
	if rows := notifyJobs(t, d); len(rows) != 0 {
		t.Errorf("jobs queued: %+v, want none", rows)
	}
	err := d.InTx(context.Background(), func(tx *sqlx.Tx) error {
		return mailOnly.EnqueueTx(context.Background(), j, tx, Event{Kind: "approved", Title: "Miro"})
	})
	if err == nil || !strings.Contains(err.Error(), `unknown event kind "approved"`) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestTemporarySMTPFailureIsRetried(t *testing.T) {
	d := testutil.SQLite(t)
	s := startSMTP(t, smtpOptions{FailFirst: 1}, nil)
	n := New(Config{SMTP: SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com", TLS: "none"}})
	j := newJobs(t, d, n)
	start(t, j)

	if err := enqueue(t, d, j, n, Event{Kind: ReviewDone, RequestID: 5, Title: "Miro", Outcome: "approve_with_conditions", Recipients: []string{"ann@example.com"}}, nil); err != nil {
		t.Fatal(err)
	}
	p := parse(t, s.next(t))
	if want := `Security finished reviewing the request "Miro". Their recommendation: approve with conditions.`; !strings.HasPrefix(p.body, want+"\n") {
		t.Errorf("body %q, want it to start with %q", p.body, want)
	}
	rows := waitFinal(t, d, 1)
	if r := rows[0]; r.State != string(rivertype.JobStateCompleted) || r.Attempt != 2 || !strings.Contains(r.Errors, "421") {
		t.Errorf("job %+v; want completed on attempt 2 after the 421", r)
	}
	if c := s.conns.Load(); c != 2 {
		t.Errorf("%d SMTP connections, want 2", c)
	}
	s.none(t)
}

func TestRejectedRecipientIsNotRetried(t *testing.T) {
	d := testutil.SQLite(t)
	s := startSMTP(t, smtpOptions{RejectRcpt: "gone@example.com"}, nil)
	n := New(Config{SMTP: SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com", TLS: "none"}})
	j := newJobs(t, d, n)
	start(t, j)

	if err := enqueue(t, d, j, n, Event{Kind: VoteOpened, Title: "Miro", Recipients: []string{"gone@example.com", "ann@example.com"}}, nil); err != nil {
		t.Fatal(err)
	}
	if m := s.next(t); m.To[0] != "ann@example.com" {
		t.Errorf("delivered to %v, want ann", m.To)
	}
	rows := waitFinal(t, d, 2)
	states := map[string]bool{}
	for _, r := range rows {
		states[r.State] = true
		if r.State == string(rivertype.JobStateCancelled) && (r.Attempt != 1 || !strings.Contains(r.Errors, "refused recipient gone@example.com: 550") || !strings.Contains(r.Errors, "no such user here")) {
			t.Errorf("cancelled job %+v; want one attempt refused with 550", r)
		}
	}
	if !states["completed"] || !states["cancelled"] || len(states) != 2 {
		t.Errorf("job states %v, want one completed and one cancelled", rows)
	}
	s.none(t)
}

// --- SMTP modes, straight through the worker -------------------------------------------------

func work(t *testing.T, n *Notifier, to string) error {
	t.Helper()
	job := &river.Job[EmailArgs]{
		JobRow: &rivertype.JobRow{ID: 99, CreatedAt: fixedNow},
		Args:   EmailArgs{To: to, Subject: "Vote open: Miro", Text: "The committee vote on the request \"Miro\" is open.\n"},
	}
	return (&EmailWorker{n: n}).Work(context.Background(), job)
}

func TestSMTPModes(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	tests := []struct {
		name     string
		server   smtpOptions
		mode     string
		user     string
		wantTLS  bool
		wantAuth string
	}{
		{"starttls with PLAIN", smtpOptions{STARTTLS: true, User: "u", Pass: "p"}, "starttls", "u", true, "u"},
		{"starttls with LOGIN only", smtpOptions{STARTTLS: true, User: "u", Pass: "p", Mechs: "LOGIN XOAUTH2"}, "starttls", "u", true, "u"},
		{"implicit TLS", smtpOptions{Implicit: true, User: "u", Pass: "p"}, "tls", "u", true, "u"},
		{"starttls not offered, no sign-in", smtpOptions{}, "starttls", "", false, ""},
		{"none on loopback with sign-in", smtpOptions{User: "u", Pass: "p"}, "none", "u", false, "u"},
		{"none ignores an offered STARTTLS", smtpOptions{STARTTLS: true}, "none", "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSMTP(t, tc.server, serverTLS)
			cfg := SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com", TLS: tc.mode, TLSConfig: clientTLS}
			if tc.user != "" {
				cfg.Username, cfg.Password = tc.user, "p"
			}
			if err := work(t, New(Config{SMTP: cfg}), "ann@example.com"); err != nil {
				t.Fatalf("Work: %v", err)
			}
			m := s.next(t)
			if m.TLS != tc.wantTLS || m.AuthUser != tc.wantAuth || m.To[0] != "ann@example.com" {
				t.Errorf("received over TLS %v signed in as %q to %v; want TLS %v as %q", m.TLS, m.AuthUser, m.To, tc.wantTLS, tc.wantAuth)
			}
			if p := parse(t, m); p.subject != "Vote open: Miro" || p.header.Get("Message-Id") != fmt.Sprintf("<paved.%d.99@example.com>", fixedNow.UnixNano()) {
				t.Errorf("subject %q, Message-ID %q", p.subject, p.header.Get("Message-Id"))
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)

	t.Run("wrong password is retried", func(t *testing.T) {
		s := startSMTP(t, smtpOptions{STARTTLS: true, User: "u", Pass: "right"}, serverTLS)
		err := work(t, New(Config{SMTP: SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com", Username: "u", Password: "wrong", TLSConfig: clientTLS}}), "ann@example.com")
		var cancel *river.JobCancelError
		if err == nil || errors.As(err, &cancel) || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Work = %v; want a retryable 535 that does not show the password", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		s := startSMTP(t, smtpOptions{STARTTLS: true}, serverTLS)
		err := work(t, New(Config{SMTP: SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com"}}), "ann@example.com")
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("Work = %v; want the certificate refused", err)
		}
		s.none(t)
	})
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		err = work(t, New(Config{SMTP: SMTPConfig{Host: "127.0.0.1", Port: port, From: "paved@example.com", TLS: "none"}}), "ann@example.com")
		var cancel *river.JobCancelError
		if err == nil || errors.As(err, &cancel) {
			t.Errorf("Work = %v; want a retryable connection error", err)
		}
	})
	t.Run("unparseable recipient is cancelled", func(t *testing.T) {
		err := work(t, New(Config{SMTP: SMTPConfig{Host: "127.0.0.1", Port: 1, From: "paved@example.com"}}), "ann@@example")
		var cancel *river.JobCancelError
		if !errors.As(err, &cancel) {
			t.Errorf("Work = %v; want the job cancelled", err)
		}
	})
	t.Run("e-mail turned off is cancelled", func(t *testing.T) {
		err := work(t, New(Config{}), "ann@example.com")
		var cancel *river.JobCancelError
		if !errors.As(err, &cancel) {
			t.Errorf("Work = %v; want the job cancelled", err)
		}
	})
}

// A password never crosses the network in plain text to a host other than loopback. The test
// needs an address of this machine that is not loopback, and skips without one.
func TestNoPasswordInPlainText(t *testing.T) {
	ip := nonLoopbackIP(t)
	s := startSMTP(t, smtpOptions{User: "u", Pass: "p", Listen: net.JoinHostPort(ip, "0")}, nil)
	n := New(Config{SMTP: SMTPConfig{Host: s.host, Port: s.port, From: "paved@example.com", Username: "u", Password: "p"}})
	err := work(t, n, "ann@example.com")
	if err == nil || !strings.Contains(err.Error(), "refusing to send the password in plain text") {
		t.Errorf("Work = %v; want a refusal", err)
	}
	if a := s.auths.Load(); a != 0 {
		t.Errorf("the server saw %d AUTH commands, want none", a)
	}
	s.none(t)
}

func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("list addresses: %v", err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		if ln, err := net.Listen("tcp", net.JoinHostPort(ipn.IP.String(), "0")); err == nil {
			ln.Close()
			return ipn.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to listen on")
	return ""
}

func TestWebhookErrorsHideTheURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := New(Config{SlackWebhookURL: "http://" + addr + secretPath})
	err = n.postSlack(context.Background(), "hello")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("postSlack = %v; want a connection error without the webhook's token", err)
	}
	var cancel *river.JobCancelError
	if errors.As(err, &cancel) {
		t.Error("a connection error cancelled the job; want a retry")
	}
}

// --- messages --------------------------------------------------------------------------------

func TestMessages(t *testing.T) {
	n := New(Config{BaseURL: "https://paved.example.com/"})
	tests := []struct {
		name        string
		ev          Event
		subject     string
		lead        string
		link        string
		wantNoLink  bool
		slackSubstr string
	}{
		{name: "submitted", ev: Event{Kind: Submitted, RequestID: 42, Title: "Proposal for Miro"},
			subject: "New request: Proposal for Miro", lead: `The request "Proposal for Miro" was submitted and is waiting for review.`,
			link: "https://paved.example.com/requests/42"},
		{name: "review done without recommendation", ev: Event{Kind: ReviewDone, RequestID: 42, Title: "Miro"},
			subject: "Security review done: Miro", lead: `Security finished reviewing the request "Miro".`,
			link: "https://paved.example.com/requests/42"},
		{name: "vote opened, relative URL", ev: Event{Kind: VoteOpened, RequestID: 42, Title: "Miro", URL: "/requests/42#vote"},
			subject: "Vote open: Miro", lead: `The committee vote on the request "Miro" is open.`,
			link: "https://paved.example.com/requests/42#vote"},
		{name: "decided, no title, absolute URL", ev: Event{Kind: Decided, RequestID: 9, Outcome: "rejected_with_guidance", URL: "https://other.example.com/r/9"},
			subject: "Decided: Request #9 (rejected with guidance)", lead: "Request #9 was decided: rejected with guidance.",
			link: "https://other.example.com/r/9"},
		{name: "no link to give", ev: Event{Kind: Decided, Title: "Miro", URL: "javascript:alert(1)"},
			subject: "Decided: Miro", lead: `The request "Miro" was decided.`, wantNoLink: true},
		{name: "slack escaping", ev: Event{Kind: Submitted, RequestID: 1, Title: "Tom & Jerry <!here>"},
			subject: "New request: Tom & Jerry <!here>", lead: `The request "Tom & Jerry <!here>" was submitted and is waiting for review.`,
			link: "https://paved.example.com/requests/1", slackSubstr: `"Tom &amp; Jerry &lt;!here&gt;"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := n.render(tc.ev)
			if m.subject != tc.subject {
				t.Errorf("subject %q, want %q", m.subject, tc.subject)
			}
			if !strings.HasPrefix(m.email, tc.lead+"\n") {
				t.Errorf("e-mail %q, want it to start with %q", m.email, tc.lead)
			}
			if tc.wantNoLink {
				if strings.Contains(m.email, "See ") || strings.Contains(m.slack, "See ") {
					t.Errorf("a link was given: %q / %q", m.email, m.slack)
				}
			} else if !strings.Contains(m.email, "\nSee "+tc.link+"\n") || !strings.HasSuffix(m.slack, "\nSee "+tc.link) {
				t.Errorf("link: e-mail %q, Slack %q; want %s", m.email, m.slack, tc.link)
			}
			if tc.slackSubstr != "" && !strings.Contains(m.slack, tc.slackSubstr) {
				t.Errorf("Slack %q, want %q in it", m.slack, tc.slackSubstr)
			}
		})
	}

	long := n.render(Event{Kind: Submitted, Title: strings.Repeat("Ä", 300)})
	if got := len([]rune(long.subject)); got != maxSubject || !strings.HasSuffix(long.subject, "…") {
		t.Errorf("long subject has %d runes (%q…), want %d ending in an ellipsis", got, long.subject[:20], maxSubject)
	}
}

func TestAddresses(t *testing.T) {
	got := Addresses([]string{"Ann <ann@example.com>", " bob@example.com ", "ANN@EXAMPLE.COM", "x\r\nBcc: eve@example.com", "", "@", "bob@example.com"})
	if want := []string{"ann@example.com", "bob@example.com"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Addresses = %v, want %v", got, want)
	}
}

// --- settings --------------------------------------------------------------------------------

func TestSettingsValidation(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the problems; none means valid
	}{
		{"defaults: notifications off", nil, nil},
		{"starttls with sign-in", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_FROM": "Paved <paved@example.com>", "PAVED_SMTP_USERNAME": "paved", "PAVED_SMTP_PASSWORD": "pw"}, nil},
		{"implicit TLS", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_PORT": "465", "PAVED_SMTP_TLS": "tls", "PAVED_SMTP_FROM": "paved@example.com"}, nil},
		{"none on loopback", map[string]string{"PAVED_SMTP_HOST": "127.0.0.1", "PAVED_SMTP_PORT": "25", "PAVED_SMTP_TLS": "none", "PAVED_SMTP_FROM": "paved@example.com"}, nil},
		{"none on localhost", map[string]string{"PAVED_SMTP_HOST": "localhost", "PAVED_SMTP_TLS": "none", "PAVED_SMTP_FROM": "paved@example.com"}, nil},
		{"none on a remote host", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_TLS": "none", "PAVED_SMTP_FROM": "paved@example.com"},
			[]string{"PAVED_SMTP_TLS (--smtp-tls) none is only allowed for an SMTP relay on a loopback host"}},
		{"unknown TLS mode", map[string]string{"PAVED_SMTP_TLS": "ssl"}, []string{`PAVED_SMTP_TLS (--smtp-tls) "ssl" must be starttls, tls or none`}},
		{"no sender", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com"}, []string{"PAVED_SMTP_FROM (--smtp-from) is required"}},
		{"bad sender", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_FROM": "paved at example"}, []string{"PAVED_SMTP_FROM (--smtp-from) \"paved at example\" is not an e-mail address"}},
		{"user without password", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_FROM": "paved@example.com", "PAVED_SMTP_USERNAME": "paved"},
			[]string{"PAVED_SMTP_USERNAME and PAVED_SMTP_PASSWORD must be set together"}},
		{"port in the host", map[string]string{"PAVED_SMTP_HOST": "smtp.example.com:587", "PAVED_SMTP_FROM": "paved@example.com"}, []string{"PAVED_SMTP_HOST (--smtp-host)", "PAVED_SMTP_PORT"}},
		{"port out of range", map[string]string{"PAVED_SMTP_PORT": "70000"}, []string{"PAVED_SMTP_PORT (--smtp-port) 70000"}},
		{"settings without a host", map[string]string{"PAVED_SMTP_FROM": "paved@example.com", "PAVED_SMTP_PASSWORD": "pw"},
			[]string{"PAVED_SMTP_FROM is set but PAVED_SMTP_HOST (--smtp-host) is empty", "PAVED_SMTP_PASSWORD is set but PAVED_SMTP_HOST"}},
		{"webhook https", map[string]string{"PAVED_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/tok"}, nil},
		{"webhook http on loopback", map[string]string{"PAVED_SLACK_WEBHOOK_URL": "http://127.0.0.1:9000/hook"}, nil},
		{"webhook without scheme", map[string]string{"PAVED_SLACK_WEBHOOK_URL": "hooks.slack.com/services/T0/B0/tok"}, []string{"PAVED_SLACK_WEBHOOK_URL (--slack-webhook-url) must be an https:// URL"}},
		{"webhook over http", map[string]string{"PAVED_SLACK_WEBHOOK_URL": "http://hooks.example.com/services/T0/B0/tok"}, []string{"PAVED_SLACK_WEBHOOK_URL (--slack-webhook-url) must use https://"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := config.Load("serve", nil, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if !config.IsProblems(err) {
				t.Fatalf("Validate = %v, want configuration problems", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems:\n%v\nwant one containing %q", err, w)
				}
			}
			for _, secret := range []string{"tok", "pw"} {
				for _, k := range []string{"PAVED_SMTP_PASSWORD", "PAVED_SLACK_WEBHOOK_URL"} {
					if v := tc.env[k]; v != "" && strings.Contains(err.Error(), v) && strings.Contains(v, secret) {
						t.Errorf("a problem quotes the secret %s: %v", k, err)
					}
				}
			}
		})
	}

	_, _, err := config.Load("serve", nil, func(k string) string { return map[string]string{"PAVED_SMTP_PORT": "submission"}[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PAVED_SMTP_PORT") {
		t.Errorf("Load with a non-numeric port = %v, want a problem naming PAVED_SMTP_PORT", err)
	}
}

func TestSecretsHiddenAndWiring(t *testing.T) {
	env := map[string]string{
		"PAVED_SMTP_HOST": "smtp.example.com", "PAVED_SMTP_FROM": "paved@example.com", "PAVED_SMTP_USERNAME": "paved",
		"PAVED_SMTP_PASSWORD": "pw-secret", "PAVED_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/tok-secret",
		"PAVED_BASE_URL": "https://paved.example.com",
	}
	c, _, err := config.Load("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Effective() {
		if strings.Contains(s.Default, "secret") {
			t.Errorf("%s shows its secret value %q", s.Env, s.Default)
		}
		if (s.Env == "PAVED_SMTP_PASSWORD" || s.Env == "PAVED_SLACK_WEBHOOK_URL") && (!s.Secret || s.Default != "(set)") {
			t.Errorf("%s = %q, secret %v; want (set), secret", s.Env, s.Default, s.Secret)
		}
	}
	cfg := FromConfig(c)
	if cfg.SMTP.Host != "smtp.example.com" || cfg.SMTP.Port != 587 || cfg.SMTP.TLS != "starttls" || cfg.SMTP.Password != "pw-secret" ||
		cfg.SlackWebhookURL != env["PAVED_SLACK_WEBHOOK_URL"] || cfg.BaseURL != "https://paved.example.com" {
		t.Errorf("FromConfig = %+v", cfg)
	}
	if n := New(cfg); !n.EmailEnabled() || !n.SlackEnabled() {
		t.Error("channels off with both configured")
	}
}
