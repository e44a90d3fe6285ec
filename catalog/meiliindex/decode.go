package meiliindex

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pavedhq/paved/catalog"
)

// decodeSearch decodes a search answer into out. Decoding it was a fifth of the portal's CPU
// per search with encoding/json, so the shape Meilisearch writes is read here without
// reflection: keys spelled as documented and given once, values of the documented types or
// null, strings without escapes, integers as integers. At anything else the text goes to
// encoding/json instead, whose result is then the answer; FuzzDecodeSearch checks the two agree.
func decodeSearch(b []byte, out *searchResponse) error {
	var r searchResponse
	if p := (parser{b: b}); p.response(&r) {
		*out = r
		return nil
	}
	return json.Unmarshal(b, out)
}

// parser reads JSON text strictly; ok turns false at anything it leaves to encoding/json.
type parser struct {
	b     []byte
	i     int
	bad   bool
	depth int
}

// maxSkipDepth bounds the nesting of values skipped, as encoding/json bounds its own.
const maxSkipDepth = 1000

func (p *parser) fail() bool { p.bad = true; return false }

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips blanks and then c, reporting whether c was there.
func (p *parser) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// literal reads a bare word such as null.
func (p *parser) literal(word string) bool {
	p.ws()
	if !bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		return false
	}
	p.i += len(word)
	return true
}

// object calls field for each key of an object (or does nothing for null), until field
// returns false or the object ends; the same key twice goes to encoding/json.
func (p *parser) object(field func(key []byte) bool) bool {
	if p.bad {
		return false
	}
	if p.literal("null") {
		return true
	}
	if !p.consume('{') {
		return p.fail()
	}
	if p.consume('}') {
		return true
	}
	var buf [16][]byte // on the stack: objects here have a dozen keys at most
	seen := buf[:0]
	for {
		key, ok := p.plain()
		if !ok || !p.consume(':') {
			return p.fail()
		}
		for _, k := range seen {
			if bytes.Equal(k, key) {
				return p.fail()
			}
		}
		seen = append(seen, key)
		if !field(key) || p.bad {
			return p.fail()
		}
		if p.consume(',') {
			continue
		}
		if p.consume('}') {
			return true
		}
		return p.fail()
	}
}

// array calls elem for each element of an array (or does nothing for null, reporting it).
func (p *parser) array(elem func() bool) (null, ok bool) {
	if p.bad {
		return false, false
	}
	if p.literal("null") {
		return true, true
	}
	if !p.consume('[') {
		return false, p.fail()
	}
	if p.consume(']') {
		return false, true
	}
	for {
		if !elem() || p.bad {
			return false, p.fail()
		}
		if p.consume(',') {
			continue
		}
		if p.consume(']') {
			return false, true
		}
		return false, p.fail()
	}
}

// plain reads a string that needs no unescaping, as valid UTF-8; its bytes alias the input.
func (p *parser) plain() ([]byte, bool) {
	if !p.consume('"') {
		return nil, p.fail()
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return nil, p.fail()
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, p.fail()
		}
		p.i++
	}
	return nil, p.fail()
}

// text reads a string, or null (which leaves s as it is, as encoding/json does).
func (p *parser) text(s *string) bool {
	if p.literal("null") {
		return true
	}
	v, ok := p.plain()
	if ok {
		*s = string(v)
	}
	return ok
}

// integer reads a JSON number that is a whole int, or null.
func (p *parser) integer(n *int) bool {
	if p.literal("null") {
		return true
	}
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	// No fraction or exponent, no leading zero, and a digit after the sign.
	if p.i == digits || p.b[digits] == '0' && p.i-digits > 1 || p.i < len(p.b) && strings.IndexByte(".eE", p.b[p.i]) >= 0 {
		return p.fail()
	}
	v, err := strconv.Atoi(string(p.b[start:p.i]))
	if err != nil {
		return p.fail()
	}
	*n = v
	return true
}

// strings reads an array of strings, or null (nil, as encoding/json makes it).
func (p *parser) strings(out *[]string) bool {
	list := []string{}
	null, ok := p.array(func() bool {
		var s string // a null element stays "", as with encoding/json
		if !p.text(&s) {
			return false
		}
		list = append(list, s)
		return true
	})
	if ok {
		if null {
			list = nil
		}
		*out = list
	}
	return ok
}

// skip reads past any value, checking its syntax.
func (p *parser) skip() bool {
	p.ws()
	if p.i >= len(p.b) {
		return p.fail()
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, ok := p.plain()
		return ok
	case c == '{' || c == '[':
		if p.depth++; p.depth > maxSkipDepth {
			return p.fail()
		}
		defer func() { p.depth-- }()
		if c == '{' {
			return p.object(func([]byte) bool { return p.skip() })
		}
		_, ok := p.array(p.skip)
		return ok
	case c == 't':
		return p.literal("true") || p.fail()
	case c == 'f':
		return p.literal("false") || p.fail()
	case c == 'n':
		return p.literal("null") || p.fail()
	default:
		return p.number()
	}
}

// number reads past any JSON number.
func (p *parser) number() bool {
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		start := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		return p.i - start
	}
	start := p.i
	n := digits()
	if n == 0 || n > 1 && p.b[start] == '0' {
		return p.fail()
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return p.fail()
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return p.fail()
		}
	}
	return true
}

// unknown skips the value of a key the decoder does not read. A key that encoding/json might
// take for a known one (in other letters' case, or with Unicode's special case foldings such as
// ſ for s) goes to encoding/json.
func (p *parser) unknown(key []byte, known ...string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return p.fail()
		}
	}
	for _, k := range known {
		if bytes.EqualFold(key, []byte(k)) {
			return p.fail()
		}
	}
	return p.skip()
}

func (p *parser) response(r *searchResponse) bool {
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "hits":
			r.Hits = []catalog.IndexDoc{}
			null, ok := p.array(func() bool {
				var d catalog.IndexDoc
				if !p.doc(&d) {
					return false
				}
				r.Hits = append(r.Hits, d)
				return true
			})
			if null {
				r.Hits = nil
			}
			return ok
		case "totalHits":
			return p.integer(&r.TotalHits)
		case "facetDistribution":
			return p.facets(&r.FacetDistribution)
		}
		return p.unknown(key, "hits", "totalHits", "facetDistribution")
	})
	p.ws()
	return ok && !p.bad && p.i == len(p.b)
}

func (p *parser) facets(out *map[string]map[string]int) bool {
	if p.literal("null") {
		*out = nil
		return true
	}
	m := map[string]map[string]int{}
	ok := p.object(func(facet []byte) bool {
		if p.literal("null") {
			m[string(facet)] = nil
			return true
		}
		counts := map[string]int{}
		m[string(facet)] = counts
		return p.object(func(value []byte) bool {
			var n int
			if !p.integer(&n) {
				return false
			}
			counts[string(value)] = n
			return true
		})
	})
	if ok {
		*out = m
	}
	return ok
}

// docKeys are IndexDoc's JSON keys.
var docKeys = []string{"slug", "name", "vendor", "description", "category", "category_label", "tags", "aliases", "status", "status_rank", "updated_at"}

// doc reads one hit; a null one stays zero, as with encoding/json.
func (p *parser) doc(d *catalog.IndexDoc) bool {
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "slug":
			return p.text(&d.Slug)
		case "name":
			return p.text(&d.Name)
		case "vendor":
			return p.text(&d.Vendor)
		case "description":
			return p.text(&d.Description)
		case "category":
			return p.text(&d.Category)
		case "category_label":
			return p.text(&d.CategoryLabel)
		case "tags":
			return p.strings(&d.Tags)
		case "aliases":
			return p.strings(&d.Aliases)
		case "status":
			s := string(d.Status)
			if !p.text(&s) {
				return false
			}
			d.Status = catalog.Status(s)
			return true
		case "status_rank":
			return p.integer(&d.StatusRank)
		case "updated_at":
			if p.literal("null") {
				return true
			}
			v, ok := p.plain()
			if !ok {
				return false
			}
			var t time.Time
			if err := t.UnmarshalText(v); err != nil {
				return p.fail()
			}
			d.UpdatedAt = t
			return true
		}
		return p.unknown(key, docKeys...)
	})
}
