package discovery

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// eachRawFast reads the records of a log laid out the way Okta writes one — a top-level array of
// objects, or objects one after another (NDJSON) — with a scanner that checks each record's
// JSON while it finds its end, several times faster than encoding/json's. It is strict: at
// anything it does not expect (broken JSON, a read error, a record over maxRecordBytes, any
// other layout) it hands the rest of the input, from the last record it delivered, to the
// encoding/json reader (eachRaw), which goes on from there and reports any error exactly as if
// it had read the whole input. So nothing it accepts is invalid JSON, and every error reads
// the same whichever reader met it.
func eachRawFast(in *input, next func(rawRecord) error) error {
	f := &fastSplitter{r: in.r, line: 1, buf: make([]byte, 0, 256<<10)}
	// Where a fallback starts (f.anchor), on which line, and how: the last record delivered
	// (read again, after "[" when it was in an array, and skipped), else the current top-level
	// value or the start of the input.
	anchorLine, prefix, skip := 1, "", false
	resume := func() error {
		rest := io.MultiReader(bytes.NewReader(append([]byte(prefix), f.buf[f.anchor:]...)), f.r)
		js := newJSONStream(&input{format: in.format, r: bufio.NewReader(rest), head: in.head})
		// Blank lines dropped after the anchor (see blank) no longer pass by the new reader;
		// counting them before it makes its lines right from the anchor record's end on.
		js.tr.line = anchorLine + f.droppedLines
		return js.eachRaw(func(rec rawRecord) error {
			if skip {
				skip = false
				return nil
			}
			return next(rec)
		})
	}
	const (
		atTop = iota
		arrayFirst
		inArray
		afterArray
		inNDJSON
	)
	state := atTop
	for {
		if !f.blank() {
			if f.err == nil && (state == afterArray || state == inNDJSON) {
				return nil
			}
			return resume()
		}
		c := f.buf[f.pos]
		switch {
		case state == atTop && c == '[':
			f.anchor, anchorLine = f.pos, f.line
			f.pos++
			state = arrayFirst
			continue
		case state == arrayFirst && c == '{':
		case state == inArray && c == ',':
			f.pos++
			if !f.blank() || f.buf[f.pos] != '{' {
				return resume()
			}
		case state == inArray && c == ']':
			f.pos++
			state = afterArray
			continue
		case state == atTop && c == '{':
			f.anchor, anchorLine = f.pos, f.line
			state = inNDJSON
		case state == inNDJSON && c == '{':
		default:
			return resume()
		}
		start, startLine := f.pos, f.line
		end, ok := f.value(&start)
		if f.tooLarge {
			// Handing the record to the other reader would read it all over again.
			return in.errorf(startLine, errRecordTooLarge, "the record that starts here is larger than %d MiB, the limit for one record", maxRecordBytes>>20)
		}
		if !ok {
			return resume()
		}
		rec := rawRecord{raw: bytes.Clone(f.buf[start:end]), line: startLine}
		f.line += bytes.Count(f.buf[start:end], []byte{'\n'})
		f.pos = end
		f.anchor, anchorLine, skip = start, startLine, true
		f.droppedLines = 0
		if state == arrayFirst || state == inArray {
			prefix, state = "[", inArray
		}
		if err := next(rec); err != nil {
			return err
		}
	}
}

// fastSplitter is eachRawFast's window on the input: buf[pos:] is unread, line is the line of
// buf[pos], and nothing from anchor on is dropped.
type fastSplitter struct {
	r         io.Reader
	buf       []byte
	pos, line int
	anchor    int
	err       error // a read error other than io.EOF
	eof       bool
	// droppedLines counts the line breaks of blank runs dropped since the anchor.
	droppedLines int
	// tooLarge is set when a record runs past maxRecordBytes.
	tooLarge bool
}

// blankKeep is how much of a blank run blank keeps before it drops the run: blanks between
// records take no memory, however many there are.
const blankKeep = 64 << 10

// fill reads more input, first dropping what is before the anchor when the buffer is full. It
// returns how far the kept bytes moved, and false at the end of the input or an error.
func (f *fastSplitter) fill() (moved int, ok bool) {
	if f.eof || f.err != nil {
		return 0, false
	}
	if f.anchor > 0 && len(f.buf) == cap(f.buf) {
		n := copy(f.buf, f.buf[f.anchor:])
		f.buf = f.buf[:n]
		moved = f.anchor
		f.pos -= moved
		f.anchor = 0
	}
	if len(f.buf) == cap(f.buf) {
		f.buf = append(f.buf, make([]byte, len(f.buf))...)[:len(f.buf)]
	}
	n, err := f.r.Read(f.buf[len(f.buf):cap(f.buf)])
	f.buf = f.buf[:len(f.buf)+n]
	switch {
	case errors.Is(err, io.EOF):
		f.eof = true
	case err != nil:
		f.err = err
	}
	return moved, n > 0 || err == nil
}

// blank skips blanks, reading more as needed; false when the input ends (or fails) first.
func (f *fastSplitter) blank() bool {
	runStart := f.pos
	for {
		for f.pos < len(f.buf) {
			switch f.buf[f.pos] {
			case '\n':
				f.line++
				f.pos++
			case ' ', '\t', '\r':
				f.pos++
			default:
				return true
			}
		}
		// Everything from runStart on is blank and read: drop it rather than keep it.
		if f.pos-runStart >= blankKeep && runStart >= f.anchor {
			f.droppedLines += bytes.Count(f.buf[runStart:f.pos], []byte{'\n'})
			f.buf, f.pos = f.buf[:runStart], runStart
		}
		moved, ok := f.fill()
		runStart -= moved
		if !ok {
			return false
		}
	}
}

// value finds the end of the JSON value at *start, checking it and reading more input as
// needed (*start follows the bytes when they move). ok is false for invalid JSON, a record
// larger than maxRecordBytes, or an input that ends first.
func (f *fastSplitter) value(start *int) (end int, ok bool) {
	for {
		n, st := scanJSON(f.buf[*start:])
		switch st {
		case scanDone:
			return *start + n, n <= maxRecordBytes
		case scanBad:
			return 0, false
		}
		if len(f.buf)-*start > maxRecordBytes {
			f.tooLarge = true
			return 0, false
		}
		// Fill the buffer before scanning again: scanning from the record's start after every
		// short read would take time quadratic in the record's size.
		for read := false; ; read = true {
			moved, more := f.fill()
			*start -= moved
			if !more {
				if !read {
					return 0, false
				}
				break
			}
			if len(f.buf) == cap(f.buf) {
				break
			}
		}
	}
}

type scanStatus int

const (
	scanDone scanStatus = iota
	scanMore            // b ends inside the value
	scanBad             // not valid JSON (or deeper than encoding/json allows)
)

// maxScanDepth is encoding/json's nesting limit.
const maxScanDepth = 10000

// scanJSON checks the JSON value at the start of b and returns where it ends. It accepts only
// what encoding/json accepts.
func scanJSON(b []byte) (int, scanStatus) {
	var stack []byte // open containers: '{' or '['
	i := 0
	expectValue := true
	for {
		// Skip blanks.
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
		if i >= len(b) {
			return 0, scanMore
		}
		c := b[i]
		if expectValue {
			switch {
			case c == '{' || c == '[':
				if len(stack) >= maxScanDepth {
					return 0, scanBad
				}
				stack = append(stack, c)
				i++
				for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
					i++
				}
				if i >= len(b) {
					return 0, scanMore
				}
				if b[i] == '}' && c == '{' || b[i] == ']' && c == '[' {
					stack = stack[:len(stack)-1]
					i++
					expectValue = false
				} else if c == '{' {
					// A key must follow.
					n, st := scanString(b[i:])
					if st != scanDone {
						return 0, st
					}
					i += n
					if i, st = colon(b, i); st != scanDone {
						return 0, st
					}
				}
				if len(stack) == 0 && !expectValue {
					return i, scanDone
				}
				continue
			case c == '"':
				n, st := scanString(b[i:])
				if st != scanDone {
					return 0, st
				}
				i += n
			case c == '-' || (c >= '0' && c <= '9'):
				n, st := scanNumber(b[i:])
				if st != scanDone {
					return 0, st
				}
				i += n
			case c == 't' || c == 'f' || c == 'n':
				lit := "null"
				if c == 't' {
					lit = "true"
				} else if c == 'f' {
					lit = "false"
				}
				if len(b)-i < len(lit) {
					if string(b[i:]) == lit[:len(b)-i] {
						return 0, scanMore
					}
					return 0, scanBad
				}
				if string(b[i:i+len(lit)]) != lit {
					return 0, scanBad
				}
				i += len(lit)
			default:
				return 0, scanBad
			}
			expectValue = false
			if len(stack) == 0 {
				// A bare top-level value: a number may go on in the next read.
				if c == '-' || (c >= '0' && c <= '9') {
					if i >= len(b) {
						return 0, scanMore
					}
				}
				return i, scanDone
			}
			continue
		}
		// After a value inside a container: a comma or the container's end.
		top := stack[len(stack)-1]
		switch {
		case c == ',':
			i++
			if top == '{' {
				for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
					i++
				}
				if i >= len(b) {
					return 0, scanMore
				}
				n, st := scanString(b[i:])
				if st != scanDone {
					return 0, st
				}
				i += n
				var st2 scanStatus
				if i, st2 = colon(b, i); st2 != scanDone {
					return 0, st2
				}
			}
			expectValue = true
		case c == '}' && top == '{' || c == ']' && top == '[':
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return i, scanDone
			}
		default:
			return 0, scanBad
		}
	}
}

// colon skips blanks and the ':' after an object key.
func colon(b []byte, i int) (int, scanStatus) {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	if i >= len(b) {
		return 0, scanMore
	}
	if b[i] != ':' {
		return 0, scanBad
	}
	return i + 1, scanDone
}

// scanString checks the string at the start of b (which must begin with '"') and returns its
// length with the quotes.
func scanString(b []byte) (int, scanStatus) {
	if len(b) == 0 {
		return 0, scanMore
	}
	if b[0] != '"' {
		return 0, scanBad
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, scanDone
		case c < 0x20:
			return 0, scanBad
		case c == '\\':
			i++
			if i >= len(b) {
				return 0, scanMore
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 1; k <= 4; k++ {
					if i+k >= len(b) {
						return 0, scanMore
					}
					if !isHex(b[i+k]) {
						return 0, scanBad
					}
				}
				i += 4
			default:
				return 0, scanBad
			}
		}
	}
	return 0, scanMore
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber checks the number at the start of b: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte) (int, scanStatus) {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, scanMore
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return 0, scanBad
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			if i >= len(b) {
				return 0, scanMore
			}
			return 0, scanBad
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			if i >= len(b) {
				return 0, scanMore
			}
			return 0, scanBad
		}
	}
	if i >= len(b) {
		return 0, scanMore // the number may go on in the next read
	}
	return i, scanDone
}
