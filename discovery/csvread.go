package discovery

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// maxLineBytes bounds one CSV line: no usage log has rows that long, and a file that does is
// not CSV (or is a single-line blob that would otherwise be held in memory whole).
const maxLineBytes = 1 << 20

var errLineTooLong = fmt.Errorf("a line is longer than %d MiB", maxLineBytes>>20)

// lineGuard fails the read once more than maxLineBytes pass without a newline.
type lineGuard struct {
	r   io.Reader
	run int
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	chunk := p[:n]
	for {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			g.run += len(chunk)
			break
		}
		if g.run+i > maxLineBytes {
			return n, errLineTooLong
		}
		g.run = 0
		chunk = chunk[i+1:]
	}
	if g.run > maxLineBytes {
		return n, errLineTooLong
	}
	return n, err
}

// csvStream reads a CSV input row by row with line numbers.
type csvStream struct {
	in     *input
	cr     *csv.Reader
	delim  rune
	header []string
}

// newCSVStream reads the header row. The delimiter is sniffed from it (comma, semicolon, tab
// or pipe); header names are trimmed (the Entra portal writes "Application ID ").
func newCSVStream(in *input) (*csvStream, error) {
	first := in.head
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	cs := &csvStream{in: in, delim: sniffDelimiter(first)}
	cs.cr = csv.NewReader(&lineGuard{r: in.r})
	cs.cr.Comma = cs.delim
	cs.cr.FieldsPerRecord = -1
	cs.cr.ReuseRecord = true
	header, err := cs.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, in.errorf(1, err, "the input is empty: no header row")
		}
		return nil, cs.fatal(err)
	}
	line, _ := cs.cr.FieldPos(0)
	cs.header = make([]string, len(header))
	for i, h := range header {
		if strings.ContainsRune(h, 0) {
			return nil, in.errorf(line, nil, "the header row holds binary data: not a CSV file")
		}
		cs.header[i] = strings.TrimSpace(h)
	}
	return cs, nil
}

// headerLine is the line of the header row (after any blank lines).
func (cs *csvStream) headerLine() int {
	line, _ := cs.cr.FieldPos(0)
	return line
}

// next returns the next row and its first line. A row the CSV reader cannot split (a stray
// quote) comes back as bad with the row's line; a broken input as err; the end as io.EOF.
func (cs *csvStream) next() (row []string, line int, bad error, err error) {
	row, err = cs.cr.Read()
	if err == nil {
		line, _ = cs.cr.FieldPos(0)
		return row, line, nil, nil
	}
	if errors.Is(err, io.EOF) {
		return nil, 0, nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote)) {
		return nil, pe.StartLine, fmt.Errorf("cannot split the row into fields: %v (line %d, column %d)", pe.Err, pe.Line, pe.Column), nil
	}
	return nil, 0, nil, cs.fatal(err)
}

func (cs *csvStream) fatal(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return cs.in.errorf(pe.Line, err, "invalid CSV: %v", pe.Err)
	}
	line, _ := cs.cr.FieldPos(0)
	if line == 0 {
		line = 1
	}
	if errors.As(err, new(*InflatedTooLargeError)) {
		return cs.in.errorf(line, err, "%v", err)
	}
	if errors.Is(err, errLineTooLong) {
		return cs.in.errorf(line, err, "%v after the row at this line: not a CSV log", err)
	}
	return cs.in.errorf(line, err, "cannot read the input after the row at this line (corrupt or truncated gzip?): %v", err)
}

// rowText rebuilds a row for a rejection's excerpt.
func (cs *csvStream) rowText(row []string) []byte {
	return []byte(strings.Join(row, string(cs.delim)))
}

// field returns row[i] trimmed, or "" when the column is absent (i < 0) or the row is short.
func field(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

func rowHasNUL(row []string) bool {
	for _, f := range row {
		if strings.IndexByte(f, 0) >= 0 {
			return true
		}
	}
	return false
}

// sniffDelimiter picks the most frequent of , ; tab | outside quotes in a header line.
func sniffDelimiter(line []byte) rune {
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(line) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best, n := ',', counts[',']
	for _, c := range []rune{';', '\t', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best
}

// splitHeader splits one header line (for Detect, which only has the head of the input).
func splitHeader(line []byte, delim rune) []string {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(line, utf8BOM)))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	row, err := cr.Read()
	if err != nil {
		return nil
	}
	for i := range row {
		row[i] = strings.TrimSpace(row[i])
	}
	return row
}

// squash reduces a header name to lower-case letters and digits: "Date (UTC)" → "dateutc",
// "user_email" → "useremail".
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// column finds the first header (squashed) equal to one of names, trying names in order and
// skipping columns already taken. -1 when none.
func column(squashed []string, taken map[int]bool, names ...string) int {
	for _, n := range names {
		for i, h := range squashed {
			if h == n && !taken[i] {
				taken[i] = true
				return i
			}
		}
	}
	return -1
}
