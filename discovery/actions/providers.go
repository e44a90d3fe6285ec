package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// ErrCredentials marks an action refused because the identity provider would not accept the
// source's credentials (or their form is wrong).
var ErrCredentials = errors.New("the identity provider refused the source's credentials")

// Providers returns the Provider of each source kind, all calling out through h (one for the
// life of the process: it caches minted tokens).
func Providers(h *discovery.ProviderHTTP) map[string]Provider {
	return map[string]Provider{
		discovery.FormatGoogle: &Google{HTTP: h},
		discovery.FormatEntra:  &Entra{HTTP: h},
		discovery.FormatOkta:   &Okta{HTTP: h},
	}
}

// SourceKind is the kind of source (discovery.FormatOkta, FormatEntra, FormatGoogle) that can
// carry out k; empty for an unknown kind.
func (k Kind) SourceKind() string {
	switch k {
	case GoogleRevokeTokens:
		return discovery.FormatGoogle
	case EntraRemoveGrants, EntraRemoveAssignments, EntraDisableSignIn:
		return discovery.FormatEntra
	case OktaRemoveAssignments, OktaDeactivateApp:
		return discovery.FormatOkta
	}
	return ""
}

// AppWide reports whether k turns the whole app off, so it cannot be limited to some people.
func (k Kind) AppWide() bool { return k == EntraDisableSignIn || k == OktaDeactivateApp }

// Undoable reports whether the steps of k can be undone at the provider.
func (k Kind) Undoable() bool { return k != GoogleRevokeTokens && k.SourceKind() != "" }

// Kinds lists the actions a source of sourceKind can take.
func Kinds(sourceKind string) []Kind {
	var out []Kind
	for _, k := range []Kind{GoogleRevokeTokens, EntraRemoveGrants, EntraRemoveAssignments, EntraDisableSignIn, OktaRemoveAssignments, OktaDeactivateApp} {
		if k.SourceKind() == sourceKind {
			out = append(out, k)
		}
	}
	return out
}

// checker is implemented by providers that can make one cheap read to prove the credentials.
type checker interface {
	check(ctx context.Context, c *discovery.ProviderClient) error
}

// Check tells whether an action of kind k on t may be previewed through src (loaded with its
// secret, Store.SourceWithSecret): the source may act, k is one of its kind's actions, the target
// is well formed, and the provider accepts the credentials (a token is minted and one cheap read
// made). Every refusal is an *errs.Error with a message for security; nothing is changed.
func Check(ctx context.Context, providers map[string]Provider, src discovery.Source, k Kind, t Target) error {
	if err := checkRequest(src, k, t); err != nil {
		return err
	}
	p, ok := providers[src.Kind]
	if !ok {
		return errs.E(errs.Invalid, "Paved cannot act through %s sources.", src.Kind)
	}
	hp, ok := p.(interface {
		client(ctx context.Context, src discovery.Source) (*discovery.ProviderClient, error)
	})
	if !ok {
		return nil
	}
	c, err := hp.client(ctx, src)
	if err != nil {
		return sourceError(src, err)
	}
	if err := c.Authorize(); err != nil {
		return sourceError(src, err)
	}
	if ch, ok := p.(checker); ok {
		if err := ch.check(ctx, c); err != nil {
			return sourceError(src, err)
		}
	}
	return nil
}

// checkRequest checks what can be checked without calling the provider.
func checkRequest(src discovery.Source, k Kind, t Target) error {
	if !src.Actions {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Source %q is read-only: an admin must turn on actions for it first.", src.Name),
			Fields: map[string]string{"source": "This source is read-only."}, Err: discovery.ErrActionsOff}
	}
	if k.SourceKind() == "" {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Unknown action %q.", k), Fields: map[string]string{"kind": "Choose an action."}}
	}
	if k.SourceKind() != src.Kind {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Action %s needs a %s source; %q is a %s source.", k, k.SourceKind(), src.Name, src.Kind),
			Fields: map[string]string{"kind": "This source cannot take this action."}}
	}
	if strings.TrimSpace(t.App) == "" {
		return &errs.Error{Code: errs.Invalid, Message: "Name the app to act on.", Fields: map[string]string{"app": "Give the app's id at the provider."}}
	}
	if k.AppWide() && len(t.People) > 0 {
		return &errs.Error{Code: errs.Invalid, Message: "Turning the app off applies to everyone: it cannot be limited to some people.",
			Fields: map[string]string{"people": "Leave empty: this action applies to everyone."}}
	}
	for _, p := range t.People {
		if a, err := mail.ParseAddress(strings.TrimSpace(p)); err != nil || a.Address != strings.TrimSpace(p) {
			return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("%q is not an e-mail address.", p), Fields: map[string]string{"people": "One e-mail address a line."}}
		}
	}
	if strings.TrimSpace(src.Secret) == "" {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Source %q has no credentials.", src.Name), Fields: map[string]string{"source": "No credentials."}, Err: ErrCredentials}
	}
	return nil
}

// sourceError turns a failure to reach or use a source into a coded error: refused credentials
// are invalid (an admin must fix the source), anything else the provider being unavailable.
func sourceError(src discovery.Source, err error) error {
	var ce *errs.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, discovery.ErrActionsOff) {
		return checkRequest(src, "", Target{})
	}
	if discovery.IsCredentialError(err) {
		return &errs.Error{Code: errs.Invalid,
			Message: fmt.Sprintf("The credentials of source %q were refused, or lack the permissions actions need (see the README): %v", src.Name, err),
			Fields:  map[string]string{"source": "Credentials refused."}, Err: fmt.Errorf("%w: %w", ErrCredentials, err)}
	}
	var nf *notFoundError
	if errors.As(err, &nf) {
		return &errs.Error{Code: errs.NotFound, Message: nf.Error(), Fields: map[string]string{"app": nf.Error()}, Err: err}
	}
	return &errs.Error{Code: errs.Unavailable, Message: fmt.Sprintf("Source %q could not be read: %v", src.Name, err), Err: err}
}

// notFoundError is an app the provider does not know.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// begin checks a Preview's request and returns the source's client.
func begin(ctx context.Context, h *discovery.ProviderHTTP, src discovery.Source, k Kind, t Target) (*discovery.ProviderClient, error) {
	if err := checkRequest(src, k, t); err != nil {
		return nil, err
	}
	return clientOf(ctx, h, src)
}

// beginStep checks a Do or Undo and returns the source's client. The source must still be
// allowed to act: turning actions off stops an approved job at its next step.
func beginStep(ctx context.Context, h *discovery.ProviderHTTP, src discovery.Source, k Kind) (*discovery.ProviderClient, error) {
	if !src.Actions {
		return nil, checkRequest(src, k, Target{})
	}
	if k.SourceKind() != src.Kind {
		return nil, checkRequest(src, k, Target{App: "-"})
	}
	return clientOf(ctx, h, src)
}

func clientOf(ctx context.Context, h *discovery.ProviderHTTP, src discovery.Source) (*discovery.ProviderClient, error) {
	if h == nil {
		h = &discovery.ProviderHTTP{}
	}
	c, err := h.Client(ctx, src)
	if err != nil {
		return nil, sourceError(src, err)
	}
	return c, nil
}

// people normalises a target's e-mail addresses (lower case, once each, sorted); nil means
// everyone.
func people(t Target) []string {
	var out []string
	for _, p := range t.People {
		p = strings.ToLower(strings.TrimSpace(p))
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and maps are marshalled here
	}
	return b
}

// readData decodes a step's Data or Undo, naming the step on failure.
func readData(raw json.RawMessage, what string, s Step, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("step %s %s has no %s", s.Object, s.ObjectID, what)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("step %s %s: read %s: %w", s.Object, s.ObjectID, what, err)
	}
	return nil
}

// goneIsDone treats an object that no longer exists as the step done.
func goneIsDone(err error) error {
	if discovery.IsNotFound(err) {
		return nil
	}
	return err
}

// createOnce re-creates an object for an undo unless it exists already, so an undo repeated after
// a crash adds nothing. A create that fails (a conflict, or a retried request whose first try
// did land) is checked again: the object being there is success.
func createOnce(ctx context.Context, exists func() (bool, error), create func() error) error {
	if ok, err := exists(); err != nil || ok {
		return err
	}
	err := create()
	if err == nil || ctx.Err() != nil {
		return err
	}
	if ok, cerr := exists(); cerr == nil && ok {
		return nil
	}
	return err
}
