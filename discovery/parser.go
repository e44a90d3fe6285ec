package discovery

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The formats a Parser reads, as named by ParserFor, Detect and `paved import --format`.
const (
	FormatOkta   = "okta"   // Okta System Log: JSON array or one event per line
	FormatEntra  = "entra"  // Entra ID sign-ins (Graph pages, portal JSON/CSV, diagnostic exports) and permission-grant snapshots
	FormatGoogle = "google" // Google Workspace Reports API activities (token, saml; login is skipped)
	FormatCSV    = "csv"    // any CSV with a header naming time, user and app
)

// Formats lists the format names in a stable order.
func Formats() []string { return []string{FormatOkta, FormatEntra, FormatGoogle, FormatCSV} }

// Parser reads one log format. Parsers stream: memory stays bounded by the largest single record,
// whatever the size of the input (an Entra permission-grant snapshot is the one exception: its
// grants are held until the file's service principals are known, see entra.go). Input compressed
// with gzip is read transparently.
type Parser interface {
	// Format is the name ParserFor knows the parser by.
	Format() string
	// Parse reads events from r, calling emit for each normalised event and reject for each bad
	// record, with its 1-based line number (for JSON, the line where the record starts) and a
	// reason. Records that are valid but not about an app (Okta user.session.start, Google login,
	// service-principal sign-ins, …) are counted as skipped, not rejected. An error from emit or
	// reject stops the parse and is returned as is; so is ctx's error. An input that cannot be read
	// as this format at all (empty, binary, truncated or malformed JSON, a CSV without a required
	// column, another vendor's log) stops the parse with a *ParseError naming the line. Stats
	// always holds what was done before the parse stopped, and Read = Emitted+Skipped+Rejected.
	Parse(ctx context.Context, r io.Reader, emit func(UsageEvent) error, reject func(Rejection) error) (Stats, error)
}

// Rejection is a record that could not be turned into an event.
type Rejection struct {
	Line    int    // 1-based line where the record starts
	Reason  string // what is wrong, for the person who exported the file
	Excerpt string // the first 200 bytes of the record (empty for a CSV row that cannot be split into fields)
}

// Stats counts what a parse did. Read counts source records: Okta events, Entra sign-ins and
// grants (and the service principals and users of a grant snapshot, as skipped), Google events
// (an activity holding three events counts three, unless the activity as a whole is rejected),
// CSV rows.
type Stats struct {
	Read, Emitted, Skipped, Rejected int
	// Cleaned counts emitted events from which control characters were removed (see cleanText).
	Cleaned int
}

// ParseError is a fatal problem with the input as a whole. Line is 1-based.
type ParseError struct {
	Format string
	Line   int
	Msg    string
	Err    error // underlying cause, if any (a *json.SyntaxError, a read error, …)
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: line %d: %s", e.Format, e.Line, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Option configures a parser made by ParserFor.
type Option func(*options)

type options struct {
	snapshotTime time.Time
	maxInflated  int64
}

func optionsOf(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithMaxInflatedBytes bounds what a gzip-compressed input may decompress to: past n bytes the
// read fails with an *InflatedTooLargeError, which stops the import. It applies to Open, Sniff
// and Store.Import; 0 means no bound.
func WithMaxInflatedBytes(n int64) Option {
	return func(o *options) { o.maxInflated = n }
}

// InflatedTooLargeError is the read error of a compressed input that decompresses to more than
// the limit.
type InflatedTooLargeError struct{ Limit int64 }

func (e *InflatedTooLargeError) Error() string {
	return fmt.Sprintf("the compressed file decompresses to more than %d bytes, the limit for a decompressed log", e.Limit)
}

// failedReader is an input that could not be opened.
type failedReader struct{ err error }

func (f failedReader) Read([]byte) (int, error) { return 0, f.err }

// inflateLimit fails a read once more than limit bytes have come out of r.
type inflateLimit struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *inflateLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &InflatedTooLargeError{Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, &InflatedTooLargeError{Limit: l.limit}
	}
	return n, err
}

// WithSnapshotTime sets the time of an Entra permission-grant snapshot: grants carry no
// timestamp, so every grant event of the snapshot gets this OccurredAt. It overrides the
// snapshot's own "snapshotTime"; one of the two is required for a snapshot. Other parsers ignore it.
func WithSnapshotTime(t time.Time) Option {
	return func(o *options) { o.snapshotTime = t.UTC() }
}

// ParserFor returns the parser for a format name ("okta", "entra", "google", "csv").
func ParserFor(format string, opts ...Option) (Parser, error) {
	o := optionsOf(opts)
	switch strings.ToLower(strings.TrimSpace(format)) {
	case FormatOkta:
		return &OktaParser{}, nil
	case FormatEntra:
		return &EntraParser{SnapshotTime: o.snapshotTime}, nil
	case FormatGoogle:
		return &GoogleParser{}, nil
	case FormatCSV:
		return &CSVParser{}, nil
	}
	return nil, fmt.Errorf("unknown log format %q: choose one of %s", format, strings.Join(Formats(), ", "))
}

// Open returns a reader of r's content, decompressing it when it starts with the gzip magic
// bytes. The result is buffered. Parse calls it itself, so callers only need it to look at the
// head of a file (see Sniff).
func Open(r io.Reader, opts ...Option) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		var out io.Reader = zr
		if o := optionsOf(opts); o.maxInflated > 0 {
			out = &inflateLimit{r: zr, left: o.maxInflated, limit: o.maxInflated}
		}
		return bufio.NewReaderSize(out, 64<<10), nil
	}
	return br, nil
}

// Sniff opens r (see Open), detects its format from the first KB and returns the format with a
// reader that still yields the whole (decompressed) content.
func Sniff(r io.Reader, opts ...Option) (string, io.Reader, error) {
	or, err := Open(r, opts...)
	if err != nil {
		return "", nil, err
	}
	br := or.(*bufio.Reader)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	format, err := Detect(head)
	return format, br, err
}

const sniffSize = 1024

// Detect says which format a file is from its first KB (gzip-compressed heads are decompressed
// first). JSON is told apart by field names (Okta's eventType/uuid/published, Entra's
// createdDateTime/appId/userPrincipalName, Google's uniqueQualifier/applicationName); text by its
// header line (Entra's portal CSV has "Date (UTC)" and "Request ID"; any other header naming time,
// user and app columns is "csv"). The error says what the head looks like when no format fits.
func Detect(head []byte) (string, error) {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return "", fmt.Errorf("corrupt gzip data: %w", err)
		}
		var buf bytes.Buffer
		// A head is a prefix of the compressed file, so running out of input is expected.
		_, _ = io.Copy(&buf, io.LimitReader(zr, sniffSize))
		head = buf.Bytes()
	}
	if len(head) > sniffSize {
		head = head[:sniffSize]
	}
	head = bytes.TrimPrefix(head, utf8BOM)
	body := bytes.TrimLeft(head, " \t\r\n")
	if len(body) == 0 {
		return "", errors.New("the input is empty: no records")
	}
	if looksBinary(head) {
		return "", errors.New("the input is binary data, not a text log (JSON or CSV)")
	}
	if body[0] == '{' || body[0] == '[' {
		return detectJSON(body)
	}
	return detectCSV(body)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// jsonSignatures are field names (with their quotes) that only one vendor's records carry.
var jsonSignatures = map[string][]string{
	FormatOkta: {`"eventType"`, `"legacyEventType"`, `"published"`, `"uuid"`, `"displayMessage"`,
		`"authenticationContext"`, `"securityContext"`, `"debugContext"`, `"alternateId"`, `"rawUserAgent"`,
		`"geographicalContext"`},
	FormatEntra: {`"createdDateTime"`, `"userPrincipalName"`, `"appDisplayName"`, `"appId"`,
		`"resourceDisplayName"`, `"clientAppUsed"`, `"conditionalAccessStatus"`, `SignInLogs"`, `"Sign-in activity"`,
		`"consentType"`, `"servicePrincipals"`, `"appOwnerOrganizationId"`, `"@odata.context"`},
	FormatGoogle: {`"uniqueQualifier"`, `"applicationName"`, `"admin#reports#activit`,
		`"callerType"`, `"profileId"`, `"customerId"`},
}

func detectJSON(body []byte) (string, error) {
	best, bestScore, tie := "", 0, false
	for _, f := range []string{FormatOkta, FormatEntra, FormatGoogle} {
		score := 0
		for _, sig := range jsonSignatures[f] {
			if bytes.Contains(body, []byte(sig)) {
				score++
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = f, score, false
		case score == bestScore && score > 0:
			tie = true
		}
	}
	if bestScore == 0 {
		return "", errors.New("JSON, but not an Okta System Log, Entra ID sign-in or Google Workspace activity: none of their field names appear in the first KB")
	}
	if tie {
		return "", errors.New("JSON with field names of more than one log format in the first KB; choose the format")
	}
	return best, nil
}

func detectCSV(body []byte) (string, error) {
	line := body
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	cols := splitHeader(line, sniffDelimiter(line))
	portal := false
	for _, c := range cols {
		switch strings.ToLower(c) {
		case "request id", "date (utc)":
			portal = true
		}
	}
	if _, err := entraCSVColumns(cols); err == nil && portal {
		return FormatEntra, nil
	}
	if _, err := genericCSVColumns(cols); err != nil {
		return "", fmt.Errorf("text, but the first line is not a CSV header naming time, user and app columns: %v", err)
	}
	return FormatCSV, nil
}

// looksBinary reports whether b is unlikely to be text: it holds a NUL byte, or more than 1% of
// control characters, or more than 5% of bytes that are not valid UTF-8.
func looksBinary(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	control, invalid := 0, 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f {
				control++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			if len(b)-i < utf8.UTFMax && !utf8.FullRune(b[i:]) {
				break // a character cut by the end of the head
			}
			invalid++
		}
		i += n
	}
	return control*100 > len(b) || invalid*20 > len(b)
}

// input is a parser's view of its (decompressed, BOM-less) input, with the head kept for error
// messages that say what the input looks like instead.
type input struct {
	format string
	r      *bufio.Reader
	head   []byte
}

// prepare opens r for format: gzip is undone, a UTF-8 byte-order mark dropped, and an empty or
// binary input refused with a *ParseError.
func prepare(format string, r io.Reader) (*input, error) {
	or, err := Open(r)
	if err != nil {
		return nil, &ParseError{Format: format, Line: 1, Msg: "cannot read the input: " + err.Error(), Err: err}
	}
	br := or.(*bufio.Reader)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &ParseError{Format: format, Line: 1, Msg: "cannot read the input: " + err.Error(), Err: err}
	}
	if bytes.HasPrefix(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
		head = head[len(utf8BOM):]
	}
	in := &input{format: format, r: br, head: append([]byte(nil), head...)}
	if len(head) == 0 {
		return nil, in.errorf(1, nil, "the input is empty (0 bytes): no records")
	}
	if len(bytes.TrimLeft(head, " \t\r\n")) == 0 && len(head) < sniffSize {
		return nil, in.errorf(1+bytes.Count(head, []byte("\n")), nil, "the input holds only blank lines: no records")
	}
	if looksBinary(head) {
		return nil, in.errorf(1, nil, "the input is binary data, not %s", formatTitle(format))
	}
	return in, nil
}

// firstByte is the first non-blank byte of the input (0 when the head is all blank).
func (in *input) firstByte() byte {
	b := bytes.TrimLeft(in.head, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func (in *input) errorf(line int, cause error, format string, args ...any) *ParseError {
	return &ParseError{Format: in.format, Line: line, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// wrongFormat builds the error for an input (or its first record, rec) that is not this format,
// naming the format it looks like when Detect recognises one.
func (in *input) wrongFormat(line int, rec []byte, what string) *ParseError {
	msg := fmt.Sprintf("not %s: %s", formatTitle(in.format), what)
	probe := rec
	if len(probe) == 0 {
		probe = in.head
	}
	if f, err := Detect(probe); err == nil && f != in.format {
		msg += fmt.Sprintf("; this looks like %s, import it with format %q", formatTitle(f), f)
	} else if f, err := Detect(in.head); err == nil && f != in.format {
		msg += fmt.Sprintf("; this looks like %s, import it with format %q", formatTitle(f), f)
	}
	return in.errorf(line, nil, "%s", msg)
}

func formatTitle(format string) string {
	switch format {
	case FormatOkta:
		return "an Okta System Log"
	case FormatEntra:
		return "an Entra ID sign-in log"
	case FormatGoogle:
		return "a Google Workspace activity report"
	case FormatCSV:
		return "a CSV usage log"
	}
	return format
}

// sink counts records and passes them on to the caller's callbacks.
type sink struct {
	ctx    context.Context
	emit   func(UsageEvent) error
	reject func(Rejection) error
	stats  Stats
}

func newSink(ctx context.Context, emit func(UsageEvent) error, reject func(Rejection) error) *sink {
	if ctx == nil {
		ctx = context.Background()
	}
	return &sink{ctx: ctx, emit: emit, reject: reject}
}

// tick checks for cancellation now and then; cheap enough to call per record.
func (s *sink) tick() error {
	if s.stats.Read&63 == 0 {
		return s.ctx.Err()
	}
	return nil
}

func (s *sink) emitted(e UsageEvent) error {
	// One bad value never stops an import: the event is stored without it, and counted.
	if e.clean() {
		s.stats.Cleaned++
		if e.SourceEventID == "" || !validAppKey(e.AppKey) {
			s.stats.Cleaned--
			return s.rejected(0, nil, "the record's id or app holds nothing but control characters")
		}
	}
	s.stats.Read++
	s.stats.Emitted++
	if s.emit != nil {
		if err := s.emit(e); err != nil {
			return err
		}
	}
	return s.tick()
}

func (s *sink) skipped() error {
	s.stats.Read++
	s.stats.Skipped++
	return s.tick()
}

func (s *sink) rejected(line int, rec []byte, format string, args ...any) error {
	s.stats.Read++
	s.stats.Rejected++
	if s.reject != nil {
		if err := s.reject(Rejection{Line: line, Reason: fmt.Sprintf(format, args...), Excerpt: excerpt(rec)}); err != nil {
			return err
		}
	}
	return s.tick()
}
