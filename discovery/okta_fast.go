package discovery

import (
	"strings"
	"unicode/utf8"
)

// decodeOktaFast fills ev from one System Log record whose JSON is already known to be valid,
// without reflection: about a fifth of the CPU of encoding/json on Okta's records. It takes the
// shape Okta writes — each key spelled as documented and given once, values of the documented
// types or null, strings without escapes — and returns false at anything else, so that
// encoding/json decodes the record instead, with its own rules for keys in other letter cases,
// escapes, duplicate keys and values of the wrong type. FuzzOktaFastDecode checks the two agree.
func decodeOktaFast(b []byte, ev *oktaEvent) bool {
	w := fastJSON{b: b}
	w.event(ev)
	return !w.bad && w.end()
}

var (
	oktaKeys         = []string{"uuid", "published", "eventType", "legacyEventType", "actor", "client", "outcome", "target", "debugContext"}
	actorKeys        = []string{"id", "alternateId", "displayName"}
	clientKeys       = []string{"ipAddress", "userAgent"}
	userAgentKeys    = []string{"rawUserAgent"}
	outcomeKeys      = []string{"result", "reason"}
	targetKeys       = []string{"id", "type", "alternateId", "displayName", "detailEntry"}
	detailEntryKeys  = []string{"publicclientapp"}
	debugContextKeys = []string{"debugData"}
	debugDataKeys    = []string{"audience"}
)

func (w *fastJSON) event(ev *oktaEvent) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(oktaKeys, &o); k >= 0; k = w.key(oktaKeys, &o) {
		switch k {
		case 0:
			w.text(&ev.UUID)
		case 1:
			w.text(&ev.Published)
		case 2:
			w.text(&ev.EventType)
		case 3:
			w.text(&ev.LegacyEventType)
		case 4:
			if !w.null() {
				ev.Actor = &oktaActor{}
				w.actor(ev.Actor)
			}
		case 5:
			if !w.null() {
				ev.Client = &oktaClient{}
				w.client(ev.Client)
			}
		case 6:
			if !w.null() {
				ev.Outcome = &oktaOutcome{}
				w.outcome(ev.Outcome)
			}
		case 7:
			if !w.null() {
				w.targets(&ev.Target)
			}
		case 8:
			if !w.null() {
				ev.DebugContext = &oktaDebugContext{}
				w.debugContext(ev.DebugContext)
			}
		}
	}
}

func (w *fastJSON) actor(a *oktaActor) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(actorKeys, &o); k >= 0; k = w.key(actorKeys, &o) {
		switch k {
		case 0:
			w.text(&a.ID)
		case 1:
			w.text(&a.AlternateID)
		case 2:
			w.text(&a.DisplayName)
		}
	}
}

func (w *fastJSON) client(c *oktaClient) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(clientKeys, &o); k >= 0; k = w.key(clientKeys, &o) {
		switch k {
		case 0:
			w.text(&c.IPAddress)
		case 1:
			if w.null() {
				continue
			}
			c.UserAgent = &oktaUserAgent{}
			var u object
			if !w.begin(&u) {
				return
			}
			for k := w.key(userAgentKeys, &u); k >= 0; k = w.key(userAgentKeys, &u) {
				w.text(&c.UserAgent.RawUserAgent)
			}
		}
	}
}

func (w *fastJSON) outcome(oc *oktaOutcome) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(outcomeKeys, &o); k >= 0; k = w.key(outcomeKeys, &o) {
		switch k {
		case 0:
			w.text(&oc.Result)
		case 1:
			w.text(&oc.Reason)
		}
	}
}

func (w *fastJSON) debugContext(dc *oktaDebugContext) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(debugContextKeys, &o); k >= 0; k = w.key(debugContextKeys, &o) {
		if w.null() {
			continue
		}
		dc.DebugData = &oktaDebugData{}
		var d object
		if !w.begin(&d) {
			return
		}
		for k := w.key(debugDataKeys, &d); k >= 0; k = w.key(debugDataKeys, &d) {
			w.flex(&dc.DebugData.Audience)
		}
	}
}

// targets reads an array of target objects; a null or other element is left to encoding/json.
func (w *fastJSON) targets(ts *[]oktaTarget) {
	if !w.is('[') {
		w.bad = true
		return
	}
	w.i++
	*ts = []oktaTarget{}
	if w.ws(); w.is(']') {
		w.i++
		return
	}
	for !w.bad {
		w.ws()
		*ts = append(*ts, oktaTarget{})
		w.target(&(*ts)[len(*ts)-1])
		w.ws()
		switch {
		case w.is(','):
			w.i++
		case w.is(']'):
			w.i++
			return
		default:
			w.bad = true
		}
	}
}

func (w *fastJSON) target(t *oktaTarget) {
	var o object
	if !w.begin(&o) {
		return
	}
	for k := w.key(targetKeys, &o); k >= 0; k = w.key(targetKeys, &o) {
		switch k {
		case 0:
			w.text(&t.ID)
		case 1:
			w.text(&t.Type)
		case 2:
			w.text(&t.AlternateID)
		case 3:
			w.text(&t.DisplayName)
		case 4:
			if w.null() {
				continue
			}
			t.DetailEntry = &oktaDetailEntry{}
			var d object
			if !w.begin(&d) {
				return
			}
			for k := w.key(detailEntryKeys, &d); k >= 0; k = w.key(detailEntryKeys, &d) {
				w.flex(&t.DetailEntry.PublicClientApp)
			}
		}
	}
}

// fastJSON walks valid JSON text. bad is set, and the walk stops, at anything the fast decoder
// leaves to encoding/json.
type fastJSON struct {
	b   []byte
	i   int
	bad bool
}

// object is the state of one object being read.
type object struct {
	started bool
	seen    uint32 // known keys already read
}

func (w *fastJSON) ws() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\n' || w.b[w.i] == '\r' || w.b[w.i] == '\t') {
		w.i++
	}
}

func (w *fastJSON) is(c byte) bool { return w.i < len(w.b) && w.b[w.i] == c }

// end reports whether only blanks are left.
func (w *fastJSON) end() bool {
	w.ws()
	return w.i == len(w.b)
}

// begin enters an object; any other value is left to encoding/json.
func (w *fastJSON) begin(o *object) bool {
	w.ws()
	if w.bad || !w.is('{') {
		w.bad = true
		return false
	}
	w.i++
	*o = object{}
	return true
}

// key moves to the object's next known key and returns its index in keys; the caller then
// reads its value. It returns -1 at the object's end, or when the walk has gone bad. Unknown
// keys' values are skipped, unless the key could match a known one in another letter case
// (encoding/json would take it); a known key given twice goes bad.
func (w *fastJSON) key(keys []string, o *object) int {
	for !w.bad {
		w.ws()
		if !o.started {
			o.started = true
			if w.is('}') {
				w.i++
				return -1
			}
		} else {
			switch {
			case w.is(','):
				w.i++
				w.ws()
			case w.is('}'):
				w.i++
				return -1
			default:
				w.bad = true
				return -1
			}
		}
		key, ok := w.plain()
		if !ok {
			break
		}
		w.ws()
		if !w.is(':') {
			break
		}
		w.i++
		w.ws()
		if k := indexOf(keys, key); k >= 0 {
			if o.seen&(1<<k) != 0 {
				break
			}
			o.seen |= 1 << k
			return k
		}
		if foldsToOneOf(keys, key) || !w.skip() {
			break
		}
	}
	w.bad = true
	return -1
}

func indexOf(keys []string, key []byte) int {
	for i, k := range keys {
		if k == string(key) {
			return i
		}
	}
	return -1
}

// foldsToOneOf reports whether key might match one of keys the way encoding/json matches
// names: without regard to letter case, with Unicode's special foldings. Any non-ASCII key
// counts as a possible match.
func foldsToOneOf(keys []string, key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, k := range keys {
		// key is ASCII here, so only a key of the same length can fold to k.
		if len(k) == len(key) && strings.EqualFold(k, string(key)) {
			return true
		}
	}
	return false
}

// plain reads a string that needs no unescaping and returns its bytes, which alias the input.
// Strings with escapes, or bytes that are not valid UTF-8, are left to encoding/json.
func (w *fastJSON) plain() ([]byte, bool) {
	if !w.is('"') {
		return nil, false
	}
	start := w.i + 1
	ascii := true
	for j := start; j < len(w.b); j++ {
		switch c := w.b[j]; {
		case c == '"':
			s := w.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			w.i = j + 1
			return s, true
		case c == '\\':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// text reads a string or null into s; any other value is left to encoding/json.
func (w *fastJSON) text(s *string) {
	if w.null() {
		return
	}
	v, ok := w.plain()
	if !ok {
		w.bad = true
		return
	}
	*s = string(v)
}

// flex reads a string or null into f, as flexString does.
func (w *fastJSON) flex(f *flexString) {
	var s string
	w.text(&s)
	*f = flexString(s)
}

func (w *fastJSON) null() bool {
	if w.i+4 <= len(w.b) && string(w.b[w.i:w.i+4]) == "null" {
		w.i += 4
		return true
	}
	return false
}

// skip reads past any value.
func (w *fastJSON) skip() bool {
	if w.i >= len(w.b) {
		return false
	}
	switch w.b[w.i] {
	case '"':
		for j := w.i + 1; j < len(w.b); j++ {
			switch w.b[j] {
			case '\\':
				j++
			case '"':
				w.i = j + 1
				return true
			}
		}
		return false
	case '{', '[':
		depth := 0
		for j := w.i; j < len(w.b); j++ {
			switch w.b[j] {
			case '"':
				w.i = j
				if !w.skip() {
					return false
				}
				j = w.i - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					w.i = j + 1
					return true
				}
			}
		}
		return false
	default: // a number, true, false or null
		for w.i < len(w.b) && !strings.ContainsRune(",}] \t\r\n", rune(w.b[w.i])) {
			w.i++
		}
		return true
	}
}
