package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/config"
)

// EmailArgs is one e-mail to one person, written out when the event happened.
type EmailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// EmailKind is the job kind of EmailArgs.
const EmailKind = "notify.email"

// Kind names the job.
func (EmailArgs) Kind() string { return EmailKind }

// EmailWorker sends e-mails through the configured SMTP server.
type EmailWorker struct {
	river.WorkerDefaults[EmailArgs]
	n *Notifier
}

// Timeout bounds one attempt; the SMTP session has its own, shorter deadline.
func (w *EmailWorker) Timeout(*river.Job[EmailArgs]) time.Duration {
	return w.n.cfg.SMTP.Timeout + 10*time.Second
}

// Work sends the e-mail. A temporary failure (server down, 4xx answer, timeout) is returned
// for River to retry; a permanent refusal of the recipient or the message (5xx) cancels the
// job, since sending the same thing again gets the same answer.
func (w *EmailWorker) Work(ctx context.Context, job *river.Job[EmailArgs]) error {
	n := w.n
	if !n.EmailEnabled() {
		return errOff("e-mail (PAVED_SMTP_HOST)")
	}
	to, err := mail.ParseAddress(job.Args.To)
	if err != nil {
		return river.JobCancel(fmt.Errorf("recipient %q is not an e-mail address: %w", job.Args.To, err))
	}
	msg := n.composeEmail(job, to)
	return n.sendMail(ctx, to.Address, msg)
}

// composeEmail writes the message: UTF-8 plain text, quoted-printable so any line length and
// language survive every relay. The Message-ID comes from the job, so a retry after a lost
// reply carries the same ID and mail clients can drop the duplicate.
func (n *Notifier) composeEmail(job *river.Job[EmailArgs], to *mail.Address) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", n.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(job.Args.Subject)))
	header("Date", n.now().Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<paved.%d.%d@%s>", job.CreatedAt.UnixNano(), job.ID, domainOf(n.from.Address)))
	header("Auto-Submitted", "auto-generated") // RFC 3834: out-of-office replies stay away
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(job.Args.Text))
	_ = qp.Close()
	return b.Bytes()
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "paved.invalid"
}

// sendMail delivers msg to one recipient in one SMTP session.
func (n *Notifier) sendMail(ctx context.Context, to string, msg []byte) error {
	s := n.cfg.SMTP
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()

	conn, err := n.dialSMTP(ctx)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), err)
	}
	// One deadline for the whole conversation, and a cancelled job (shutdown, timeout) breaks
	// off whatever read or write is under way.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting from %s: %w", s.Host, err)
	}
	defer c.Close()
	if err := c.Hello(n.heloName()); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	_, encrypted := c.TLSConnectionState()
	if s.TLS == "starttls" && !encrypted {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(n.tlsConfig()); err != nil {
				return fmt.Errorf("SMTP STARTTLS: %w", err)
			}
			encrypted = true
		}
	}
	if s.Username != "" {
		if !encrypted && !config.LoopbackHost(s.Host) {
			return fmt.Errorf("SMTP server %s offers no TLS: refusing to send the password in plain text (use PAVED_SMTP_TLS=tls, or a server that offers STARTTLS)", s.Host)
		}
		auth, err := n.pickAuth(c)
		if err != nil {
			return err
		}
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("SMTP sign-in as %s: %w", s.Username, err)
		}
	}
	if err := c.Mail(n.from.Address); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return permanentIf5xx(fmt.Errorf("SMTP server refused recipient %s: %w", to, err))
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := wc.Write(msg); err != nil {
		return fmt.Errorf("SMTP write message: %w", err)
	}
	if err := wc.Close(); err != nil {
		return permanentIf5xx(fmt.Errorf("SMTP server refused the message: %w", err))
	}
	// The message is accepted; a failing QUIT must not send it twice.
	_ = c.Quit()
	return nil
}

// permanentIf5xx cancels the job when the server's answer is a permanent failure (RFC 5321
// 5yz): trying again would be refused again.
func permanentIf5xx(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return river.JobCancel(err)
	}
	return err
}

// dialSMTP opens the connection, already in TLS for implicit TLS.
func (n *Notifier) dialSMTP(ctx context.Context) (net.Conn, error) {
	s := n.cfg.SMTP
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	d := &net.Dialer{Timeout: 15 * time.Second}
	if s.TLS == "tls" {
		return (&tls.Dialer{NetDialer: d, Config: n.tlsConfig()}).DialContext(ctx, "tcp", addr)
	}
	return d.DialContext(ctx, "tcp", addr)
}

func (n *Notifier) tlsConfig() *tls.Config {
	var c *tls.Config
	if n.cfg.SMTP.TLSConfig != nil {
		c = n.cfg.SMTP.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = n.cfg.SMTP.Host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// heloName is the portal's public host name when it has one: servers that check EHLO want a
// fully qualified name, and "localhost" from a remote machine looks like spam.
func (n *Notifier) heloName() string {
	if u, err := url.Parse(n.cfg.BaseURL); err == nil {
		h := u.Hostname()
		if ip := net.ParseIP(h); ip != nil {
			if ip.To4() != nil {
				return "[" + h + "]"
			}
			return "[IPv6:" + h + "]"
		}
		if strings.Contains(h, ".") {
			return h
		}
	}
	return "localhost"
}

// pickAuth chooses PLAIN, else LOGIN (Microsoft 365 offers only that and XOAUTH2), else
// CRAM-MD5, from what the server offers.
func (n *Notifier) pickAuth(c *smtp.Client) (smtp.Auth, error) {
	s := n.cfg.SMTP
	ok, params := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(params))
	switch {
	case !ok:
		return nil, fmt.Errorf("SMTP server %s does not offer sign-in, but PAVED_SMTP_USERNAME is set", s.Host)
	case slices.Contains(mechs, "PLAIN"):
		return smtp.PlainAuth("", s.Username, s.Password, s.Host), nil
	case slices.Contains(mechs, "LOGIN"):
		return &loginAuth{username: s.Username, password: s.Password}, nil
	case slices.Contains(mechs, "CRAM-MD5"):
		return smtp.CRAMMD5Auth(s.Username, s.Password), nil
	}
	return nil, fmt.Errorf("SMTP server %s offers sign-in by %s only; Paved supports PLAIN, LOGIN and CRAM-MD5", s.Host, params)
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks: the server asks for the user name
// and the password in turn.
type loginAuth struct{ username, password string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !config.LoopbackHost(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(p, "user"):
		return []byte(a.username), nil
	case strings.HasPrefix(p, "pass"):
		return []byte(a.password), nil
	default:
		return nil, fmt.Errorf("unexpected LOGIN prompt %q", fromServer)
	}
}
