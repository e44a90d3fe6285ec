package discovery

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// SourceKind names the system an event was read from. Together with SourceEventID it is the
// idempotency key of a stored event.
type SourceKind string

// The sources.
const (
	SourceOkta   SourceKind = "okta"
	SourceEntra  SourceKind = "entra"
	SourceGoogle SourceKind = "google"
	SourceCSV    SourceKind = "csv"
)

// EventKind says what the user did with the app.
type EventKind string

// The kinds of usage event.
const (
	KindSSOLogin    EventKind = "sso_login"    // signed in to the app through the IdP
	KindOAuthGrant  EventKind = "oauth_grant"  // consented to the app reading their data
	KindOAuthRevoke EventKind = "oauth_revoke" // withdrew that consent
)

// Outcome says whether the sign-in or grant worked. Only successes count as usage; failures are
// kept beside them.
type Outcome string

// The outcomes.
const (
	OutcomeSuccess     Outcome = "success"
	OutcomeFailure     Outcome = "failure"
	OutcomeInterrupted Outcome = "interrupted" // the IdP stopped to ask for something (MFA, "stay signed in?")
	OutcomeUnknown     Outcome = "unknown"
)

// App key prefixes, from the most to the least stable identifier. A key is the prefix followed by
// the identifier, e.g. "entra:00000003-0000-0ff1-ce00-000000000000" or "name:slack".
const (
	KeyDomain      = "domain:"      // host of an Okta SAML audience, or a CSV domain/url column
	KeyEntra       = "entra:"       // Entra appId: the same in every tenant
	KeyGoogle      = "google:"      // Google OAuth client_id
	KeyOkta        = "okta:"        // Okta app instance id (0oa…)
	KeyOktaClient  = "okta-client:" // Okta OAuth client id from a consent event, which names no app
	KeyName        = "name:"        // NormalizeAppName of the display name, when nothing better exists
	maxExcerptSize = 200
)

// UsageEvent is one normalised record of a person using (or trying to use) a SaaS app.
type UsageEvent struct {
	OccurredAt time.Time // UTC; for snapshot sources (Entra grants) the snapshot time
	Source     SourceKind
	// SourceEventID is unique per source and stable across re-imports of the same record, so
	// (Source, SourceEventID) identifies a stored event.
	SourceEventID string
	UserEmail     string // lower-cased; empty when the log only has an opaque id
	UserID        string // the IdP's own user id, when the log has one
	// AppKey is the most stable identifier of the app available in the record, prefixed by its
	// kind (see the Key* constants). Matching to catalogue apps starts from it.
	AppKey        string
	AppName       string // display name as the log spells it (may be empty for Okta consents)
	ClientID      string // OAuth client id / Entra appId / Okta app instance id, when known
	Domain        string // the app's host, when known
	Kind          EventKind
	Outcome       Outcome
	FailureReason string
	IP            string
	UserAgent     string
	Scopes        []string // OAuth scopes of a grant or revoke
}

// UserKey is what counts as one distinct user: the e-mail, else the IdP user id (prefixed so the
// two spaces never collide). Empty when the event names nobody, e.g. an admin consent for all
// users.
func (e UsageEvent) UserKey() string {
	if e.UserEmail != "" {
		return e.UserEmail
	}
	if e.UserID != "" {
		return "id:" + e.UserID
	}
	return ""
}

// Validate checks the invariants every parser guarantees for the events it emits.
func (e UsageEvent) Validate() error {
	var problems []string
	if e.OccurredAt.IsZero() {
		problems = append(problems, "no time")
	} else if e.OccurredAt.Location() != time.UTC {
		problems = append(problems, "time not in UTC")
	}
	switch e.Source {
	case SourceOkta, SourceEntra, SourceGoogle, SourceCSV:
	default:
		problems = append(problems, fmt.Sprintf("unknown source %q", e.Source))
	}
	if e.SourceEventID == "" {
		problems = append(problems, "no source event id")
	}
	if !validAppKey(e.AppKey) {
		problems = append(problems, fmt.Sprintf("bad app key %q", e.AppKey))
	}
	switch e.Kind {
	case KindSSOLogin, KindOAuthGrant, KindOAuthRevoke:
	default:
		problems = append(problems, fmt.Sprintf("unknown kind %q", e.Kind))
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeFailure, OutcomeInterrupted, OutcomeUnknown:
	default:
		problems = append(problems, fmt.Sprintf("unknown outcome %q", e.Outcome))
	}
	if e.UserEmail != strings.ToLower(e.UserEmail) {
		problems = append(problems, "e-mail not lower-cased")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func validAppKey(k string) bool {
	for _, p := range []string{KeyDomain, KeyEntra, KeyGoogle, KeyOkta, KeyOktaClient, KeyName} {
		if rest, ok := strings.CutPrefix(k, p); ok {
			return strings.TrimSpace(rest) != "" && rest == strings.TrimSpace(rest)
		}
	}
	return false
}

// appKey returns the first non-empty identifier of ids with its prefix, trying them in the order
// given, and finally the normalised name. Empty when nothing identifies the app.
func appKey(name string, ids ...string) string {
	for i := 0; i+1 < len(ids); i += 2 {
		if v := strings.TrimSpace(ids[i+1]); v != "" {
			return ids[i] + v
		}
	}
	if n := NormalizeAppName(name); n != "" {
		return KeyName + n
	}
	return ""
}

// NormalizeAppName reduces an app's display name to a key under which the names one SaaS carries
// in different logs meet: "Slack", "Slack Technologies", "slack.com" and "Slack (SSO)" all become
// "slack"; "Salesforce.com, Inc." becomes "salesforce". It lower-cases, drops bracketed remarks,
// reduces a domain to its registrable label (www.app.slack.com → slack), and strips trailing
// company-form and deployment words (Inc, Ltd, GmbH, Technologies, App, SSO, Production, …). It
// never strips a name to nothing: "App" stays "app". Empty input gives "".
func NormalizeAppName(name string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		if h := hostOf(s); h != "" {
			s = h
		}
	}
	s = dropBracketed(s)
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '&' && r != '+'
	})
	words := make([]string, 0, len(fields))
	for _, f := range fields {
		f = strings.Trim(f, ".")
		if f == "" {
			continue
		}
		if strings.Contains(f, ".") {
			if label, ok := registrableLabel(f); ok {
				words = append(words, label)
				continue
			}
			for _, part := range strings.Split(f, ".") {
				if part != "" {
					words = append(words, part)
				}
			}
			continue
		}
		words = append(words, f)
	}
	n := len(words)
	for n > 1 && nameNoise[words[n-1]] {
		n--
	}
	return strings.Join(words[:n], " ")
}

// nameNoise are words that say what kind of company or deployment an app is, not which app.
// They are stripped only from the end of a name.
var nameNoise = map[string]bool{
	"inc": true, "incorporated": true, "corp": true, "corporation": true, "co": true,
	"company": true, "ltd": true, "limited": true, "llc": true, "llp": true, "lp": true,
	"plc": true, "gmbh": true, "ag": true, "sa": true, "sas": true, "sarl": true, "bv": true,
	"nv": true, "oy": true, "ab": true, "pty": true, "srl": true, "spa": true, "kk": true,
	"se": true, "technologies": true, "technology": true, "software": true, "systems": true,
	"labs": true, "solutions": true, "group": true, "holdings": true, "international": true,
	"communications": true, "app": true, "apps": true, "application": true, "sso": true,
	"saml": true, "saml2": true, "oidc": true, "oauth": true, "oauth2": true, "scim": true,
	"prod": true, "production": true, "sandbox": true, "staging": true, "test": true,
	"dev": true, "enterprise": true, "com": true,
}

// dropBracketed removes "(…)" and "[…]" remarks such as "(SSO)" or "[Production]".
func dropBracketed(s string) string {
	if !strings.ContainsAny(s, "([") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(' || r == '[':
			depth++
			b.WriteByte(' ')
		case (r == ')' || r == ']') && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// registrableLabel returns the label just left of the public suffix of a domain-looking word,
// from the public suffix list: "slack.com" → "slack", "acme.my.salesforce.com" → "salesforce",
// "example.co.uk" → "example".
func registrableLabel(w string) (string, bool) {
	labels := strings.Split(w, ".")
	if len(labels) < 2 || slices.Contains(labels, "") {
		return "", false
	}
	if tld := labels[len(labels)-1]; len(tld) < 2 || !allLetters(tld) {
		return "", false
	}
	site, err := publicsuffix.EffectiveTLDPlusOne(w)
	if err != nil {
		return "", false
	}
	label, _, _ := strings.Cut(site, ".")
	return label, true
}

func allLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// normalizeHost returns the lower-cased host of a URL, URN-free audience or bare host name,
// without port, trailing dot or a leading "www."; empty when s names no DNS host.
func normalizeHost(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		s = hostOf(s)
	} else {
		if i := strings.IndexAny(s, "/?#"); i >= 0 {
			s = s[:i]
		}
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			s = s[i+1:]
		}
		if h, p, ok := strings.Cut(s, ":"); ok {
			if !allDigits(p) {
				return "" // "urn:amazon:webservices" and the like are not hosts
			}
			s = h
		}
	}
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	s = strings.TrimPrefix(s, "www.")
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r > unicode.MaxASCII && unicode.IsLetter(r)) {
			return ""
		}
	}
	return s
}

func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// normalizeEmail lower-cases an address; it returns "" for values that are not e-mail-shaped
// (Okta sometimes puts an opaque login in actor.alternateId).
func normalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n") {
		return ""
	}
	return strings.ToLower(s)
}

// excerpt returns at most the first 200 bytes of b as valid UTF-8 text, cut at a character
// boundary; invalid bytes (binary input) become "?".
func excerpt(b []byte) string {
	if len(b) > maxExcerptSize {
		cut := maxExcerptSize
		for cut > maxExcerptSize-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	return strings.ToValidUTF8(string(b), "?")
}
