package seed

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
)

//go:embed known_identifiers.json
var knownJSON []byte

// Kinds of well-known identifier: where in a log each is seen.
const (
	KnownDomain      = "domain"        // an app's web host (a SAML audience, a proxy log's domain)
	KnownEntraAppID  = "entra_app_id"  // an Entra ID application id, the same in every tenant
	KnownOktaAppName = "okta_app_name" // an Okta Integration Network app's name
	KnownGoogleName  = "google_client_name"
)

// KnownIdentifier ties an identifier that logs carry to a catalogue app, with the vendor
// document it comes from.
type KnownIdentifier struct {
	Slug  string `json:"slug"`
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Doc   string `json:"doc"`
}

// KnownIdentifiers returns the registry of well-known identifiers, validated against the
// catalogue: every entry names a seeded app, a known kind and a source document, and no
// identifier is claimed twice.
func KnownIdentifiers() ([]KnownIdentifier, error) {
	var file struct {
		About       string            `json:"_about"`
		Identifiers []KnownIdentifier `json:"identifiers"`
	}
	if err := decodeStrict(knownJSON, &file); err != nil {
		return nil, fmt.Errorf("seed: known_identifiers.json: %w", err)
	}
	apps, err := Apps()
	if err != nil {
		return nil, err
	}
	if err := ValidateKnown(file.Identifiers, apps); err != nil {
		return nil, fmt.Errorf("seed: known_identifiers.json: %w", err)
	}
	return file.Identifiers, nil
}

// ValidateKnown checks the registry against the catalogue apps.
func ValidateKnown(ids []KnownIdentifier, apps []App) error {
	slugs := map[string]bool{}
	for _, a := range apps {
		slugs[a.Slug] = true
	}
	var problems []error
	seen := map[string]bool{}
	for i, k := range ids {
		where := fmt.Sprintf("identifier %d (%s %s)", i, k.Kind, k.Value)
		switch k.Kind {
		case KnownDomain, KnownEntraAppID, KnownOktaAppName, KnownGoogleName:
		default:
			problems = append(problems, fmt.Errorf("%s: unknown kind %q", where, k.Kind))
		}
		if !slugs[k.Slug] {
			problems = append(problems, fmt.Errorf("%s: no catalogue app %q", where, k.Slug))
		}
		if strings.TrimSpace(k.Value) == "" || strings.TrimSpace(k.Value) != k.Value || strings.ToLower(k.Value) != k.Value && k.Kind != KnownGoogleName {
			problems = append(problems, fmt.Errorf("%s: the value must be lower-case, without spaces around it", where))
		}
		if strings.TrimSpace(k.Doc) == "" {
			problems = append(problems, fmt.Errorf("%s: say which vendor document it comes from", where))
		}
		if seen[k.Kind+":"+strings.ToLower(k.Value)] {
			problems = append(problems, fmt.Errorf("%s: listed twice", where))
		}
		seen[k.Kind+":"+strings.ToLower(k.Value)] = true
	}
	return errors.Join(problems...)
}
