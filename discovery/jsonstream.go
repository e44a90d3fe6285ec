package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// maxRecordBytes bounds the memory one JSON record may take. A larger record (or an input with
// no structure the decoder can make progress on) stops the parse.
const maxRecordBytes = 16 << 20

var errRecordTooLarge = fmt.Errorf("a single record is larger than %d MiB", maxRecordBytes>>20)

// tracker sits between the input and the json.Decoder. It keeps the bytes read since the start
// of the current record, so that the line a record starts on and its first bytes (for a
// rejection) come without a second pass over the input, and it bounds the size of a record.
type tracker struct {
	r    io.Reader
	buf  []byte // live bytes are buf[off:]; buf[off] is at input offset base
	off  int
	base int64
	line int   // 1-based line of offset base
	err  error // first error from r other than io.EOF
}

func (t *tracker) Read(p []byte) (int, error) {
	if len(t.buf)-t.off > maxRecordBytes {
		return 0, errRecordTooLarge
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if len(t.buf)+n > cap(t.buf) && t.off > 0 {
			m := copy(t.buf, t.buf[t.off:])
			t.buf = t.buf[:m]
			t.off = 0
		}
		t.buf = append(t.buf, p[:n]...)
	}
	if err != nil && !errors.Is(err, io.EOF) && t.err == nil {
		t.err = err
	}
	if len(t.buf)-t.off > maxRecordBytes {
		return n, errRecordTooLarge
	}
	return n, err
}

// live returns the kept bytes from input offset from on.
func (t *tracker) live(from int64) []byte {
	i := from - t.base
	if i < 0 {
		i = 0
	}
	b := t.buf[t.off:]
	if i > int64(len(b)) {
		return nil
	}
	return b[i:]
}

// end is the input offset just past the last byte read.
func (t *tracker) end() int64 { return t.base + int64(len(t.buf)-t.off) }

// recordStart skips blanks and commas from input offset from, forgets everything before the
// first other byte (the record's first byte) and returns that byte's offset and line.
func (t *tracker) recordStart(from int64) (int64, int) {
	if from < t.base {
		from = t.base
	}
	b := t.live(from)
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n' || b[i] == ',') {
		i++
	}
	start := from + int64(i)
	if start < t.base {
		start = t.base
	}
	if start > t.end() {
		start = t.end()
	}
	n := int(start - t.base)
	t.line += bytes.Count(t.buf[t.off:t.off+n], []byte{'\n'})
	t.off += n
	t.base = start
	return start, t.line
}

// lineAt returns the line of input offset off, which must not be before the current record.
func (t *tracker) lineAt(off int64) int {
	b := t.buf[t.off:]
	i := off - t.base
	if i < 0 {
		return t.line
	}
	if i > int64(len(b)) {
		i = int64(len(b))
	}
	return t.line + bytes.Count(b[:i], []byte{'\n'})
}

// bytesOf returns the kept bytes of [start, end), at most max of them.
func (t *tracker) bytesOf(start, end int64, max int) []byte {
	b := t.live(start)
	n := end - start
	if n < 0 {
		n = 0
	}
	if n > int64(len(b)) {
		n = int64(len(b))
	}
	if n > int64(max) {
		n = int64(max)
	}
	return b[:n]
}

// recPos locates a record in the input.
type recPos struct {
	line       int
	start, end int64
}

// jsonStream reads JSON values one at a time with their positions.
type jsonStream struct {
	in  *input
	tr  *tracker
	dec *json.Decoder
}

func newJSONStream(in *input) *jsonStream {
	tr := &tracker{r: in.r, line: 1, buf: make([]byte, 0, 64<<10)}
	return &jsonStream{in: in, tr: tr, dec: json.NewDecoder(tr)}
}

// raw returns up to max bytes of the record at pos, valid until the next record is read.
func (s *jsonStream) raw(pos recPos, max int) []byte { return s.tr.bytesOf(pos.start, pos.end, max) }

// eachTop calls fn once per top-level value, with the value's first byte ('[' or '{'); fn must
// consume the value. Anything else at the top level is fatal, as is an input with no value.
func (s *jsonStream) eachTop(fn func(first byte) error) error {
	values := 0
	for {
		if !s.dec.More() {
			tok, err := s.dec.Token()
			if errors.Is(err, io.EOF) {
				if values == 0 {
					return s.in.errorf(s.tr.lineAt(s.tr.end()), nil, "the input holds no JSON value: no records")
				}
				return nil
			}
			if err != nil {
				return s.fatal(err, s.dec.InputOffset(), 0)
			}
			return s.in.errorf(s.tr.lineAt(s.dec.InputOffset()), nil, "unexpected %v at the top level of the JSON input", tok)
		}
		first := s.peekByte()
		if first != '[' && first != '{' {
			off := s.dec.InputOffset()
			line := s.tr.lineAt(off)
			if values == 0 {
				return s.in.wrongFormat(line, nil, fmt.Sprintf("expected JSON (an array or objects), found %s", describeByte(first)))
			}
			return s.in.errorf(line, nil, "expected a JSON array or object, found %s", describeByte(first))
		}
		if err := fn(first); err != nil {
			return err
		}
		values++
	}
}

// peekByte returns the next non-blank byte, which the last More call found in the buffer.
func (s *jsonStream) peekByte() byte {
	var b [1]byte
	if n, _ := s.dec.Buffered().Read(b[:]); n == 0 {
		return 0
	}
	return b[0]
}

func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// eachRecord walks the top-level values of a log: each element of a top-level array goes to
// element, and each top-level object (a page, or one record of NDJSON) goes to object.
func (s *jsonStream) eachRecord(element, object func() error) error {
	return s.eachTop(func(first byte) error {
		if first == '[' {
			if err := s.openArray(); err != nil {
				return err
			}
			return s.eachElement(element)
		}
		return object()
	})
}

// openArray reads the '[' of an array the caller has peeked.
func (s *jsonStream) openArray() error {
	if _, err := s.dec.Token(); err != nil {
		return s.fatal(err, s.dec.InputOffset(), 0)
	}
	return nil
}

// eachElement calls fn for each element of the array whose '[' was just read (fn must consume
// the element), then reads the closing ']'.
func (s *jsonStream) eachElement(fn func() error) error {
	for s.dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	return s.closeDelim(']')
}

func (s *jsonStream) closeDelim(want json.Delim) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.fatal(err, s.dec.InputOffset(), 0)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return s.in.errorf(s.tr.lineAt(s.dec.InputOffset()), nil, "invalid JSON: expected %q, found %v", string(want), tok)
	}
	return nil
}

// decode reads the next value into v. A value that is valid JSON but does not fit v (a number
// where text belongs, …) is consumed and returned as bad; anything that breaks the stream
// (invalid or truncated JSON, a read error) is returned as err, a *ParseError. With v nil the
// value is only read and checked, which scans it once (decoding into a json.RawMessage scans
// it twice).
func (s *jsonStream) decode(v any) (pos recPos, bad error, err error) {
	from := s.dec.InputOffset()
	derr := s.dec.Decode(v)
	var invalid *json.InvalidUnmarshalError
	if v == nil && errors.As(derr, &invalid) {
		derr = nil // the Decoder reads the value before it looks at v
	}
	pos.start, pos.line = s.tr.recordStart(from)
	pos.end = s.dec.InputOffset()
	if derr == nil {
		return pos, nil, nil
	}
	if s.isFatal(derr) {
		return pos, nil, s.fatal(derr, pos.start, pos.line)
	}
	return pos, describeValueError(derr), nil
}

func (s *jsonStream) isFatal(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, errRecordTooLarge) || (s.tr.err != nil && errors.Is(err, s.tr.err))
}

// fatal turns an error that broke the stream into a *ParseError naming the line. start and
// startLine are the offset and line of the record being read (startLine 0 when unknown).
func (s *jsonStream) fatal(err error, start int64, startLine int) error {
	in := s.in
	if startLine == 0 {
		start, startLine = s.tr.recordStart(start)
	}
	switch {
	case errors.Is(err, errRecordTooLarge):
		return in.errorf(startLine, err, "the record that starts here is larger than %d MiB, the limit for one record", maxRecordBytes>>20)
	case s.tr.err != nil && errors.As(err, new(*InflatedTooLargeError)):
		return in.errorf(s.tr.lineAt(s.tr.end()), err, "%v", err)
	case s.tr.err != nil && errors.Is(err, s.tr.err):
		return in.errorf(s.tr.lineAt(s.tr.end()), err, "cannot read the input (corrupt or truncated gzip?): %v", err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		last := s.tr.lineAt(s.tr.end())
		return in.errorf(last, err, "truncated JSON: the input ends inside the record that starts at line %d", startLine)
	}
	// Find where the syntax error is by decoding the record again on its own: the decoder's
	// offsets are not all relative to the same origin.
	line := startLine
	sub := json.NewDecoder(bytes.NewReader(s.tr.live(start)))
	var raw json.RawMessage
	if serr := sub.Decode(&raw); serr != nil {
		var se *json.SyntaxError
		if errors.As(serr, &se) && se.Offset > 0 {
			line = s.tr.lineAt(start + se.Offset - 1)
		}
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	if line != startLine {
		return in.errorf(line, err, "invalid JSON in the record that starts at line %d: %s", startLine, msg)
	}
	return in.errorf(line, err, "invalid JSON: %s", msg)
}

// describeValueError words a decoding error of one record for a rejection.
func describeValueError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the record"
		}
		return fmt.Errorf("%s: JSON %s where %s belongs", field, te.Value, jsonKind(te.Type))
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// walkObject reads the object at the current position key by key, for inputs where a top-level
// object may be either a record or a container of records ({"value":[…]}, {"items":[…]}). claim
// is asked about each key first: when it returns true it has read the key's value itself (and
// the object is a container). Other keys are decoded into the field of rec (a pointer to a
// struct) with that JSON name, or skipped. bad is the first value error among rec's fields.
func (s *jsonStream) walkObject(rec any, claim func(key string) (bool, error)) (pos recPos, container bool, bad error, err error) {
	from := s.dec.InputOffset()
	if _, err := s.dec.Token(); err != nil { // '{', peeked by the caller
		return pos, false, nil, s.fatal(err, from, 0)
	}
	pos.start, pos.line = s.tr.recordStart(from)
	rv := reflect.ValueOf(rec).Elem()
	fields := fieldsOf(rv.Type())
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return pos, container, bad, s.fatal(err, pos.start, pos.line)
		}
		key, ok := tok.(string)
		if !ok {
			return pos, container, bad, s.in.errorf(s.tr.lineAt(s.dec.InputOffset()), nil, "invalid JSON: expected an object key, found %v", tok)
		}
		claimed, err := claim(key)
		if err != nil {
			return pos, container, bad, err
		}
		if claimed {
			container = true
			continue
		}
		var target any = &skipValue{}
		if idx, ok := fields[key]; ok {
			target = rv.FieldByIndex(idx).Addr().Interface()
		} else if idx, ok := fields[strings.ToLower(key)]; ok {
			target = rv.FieldByIndex(idx).Addr().Interface()
		}
		if derr := s.dec.Decode(target); derr != nil {
			if s.isFatal(derr) {
				return pos, container, bad, s.fatal(derr, pos.start, pos.line)
			}
			if bad == nil {
				bad = describeValueError(fmt.Errorf("%s: %w", key, derr))
			}
		}
	}
	if err := s.closeDelim('}'); err != nil {
		return pos, container, bad, err
	}
	pos.end = s.dec.InputOffset()
	return pos, container, bad, nil
}

// skipValue reads and ignores any JSON value.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

var fieldCache sync.Map // reflect.Type → map[string][]int

// fieldsOf maps the JSON names of a struct's fields (as written and lower-cased, the way
// encoding/json matches keys) to their indexes.
func fieldsOf(t reflect.Type) map[string][]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string][]int)
	}
	m := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Index
		if _, ok := m[strings.ToLower(name)]; !ok {
			m[strings.ToLower(name)] = f.Index
		}
	}
	fieldCache.Store(t, m)
	return m
}

// fieldError is a field of a record with a value the parser cannot use.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// flexString holds a JSON string, number or boolean as text (vendors send some ids either way:
// Google's uniqueQualifier is "-12" in one page and -12 in the next). null leaves it empty.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		*f = ""
		return nil
	case '"':
		if plainJSONString(b) {
			*f = flexString(b[1 : len(b)-1])
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	case '{':
		return &fieldError{"an object where text or a number belongs"}
	case '[':
		return &fieldError{"an array where text or a number belongs"}
	}
	*f = flexString(b)
	return nil
}

// plainJSONString reports whether a quoted JSON string needs no unescaping or UTF-8 repair.
func plainJSONString(b []byte) bool {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}
