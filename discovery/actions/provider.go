// Package actions carries security's decisions to the identity providers: it revokes the OAuth
// grants people gave an app, removes their assignments, or turns the app off, through the same
// sources (and credentials) that discovery pulls logs from.
//
// An action is planned before anything changes: a Provider's Preview reads live from the
// provider exactly which grants and assignments it would touch, as a list of Steps. Only a second
// security member's approval lets a job carry the steps out, one at a time, each recorded, so a
// crash or restart resumes where it stopped and never does a step twice.
package actions

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/pavedhq/paved/discovery"
)

// Kind is what an action does at a provider.
type Kind string

// The actions each provider can take.
const (
	// GoogleRevokeTokens deletes the OAuth tokens people granted to the app's client id
	// (Directory API users.tokens.delete). Revoked tokens cannot be restored.
	GoogleRevokeTokens Kind = "google.revoke_tokens"
	// EntraRemoveGrants deletes the delegated permission grants (oauth2PermissionGrants) that
	// people gave the app's service principal.
	EntraRemoveGrants Kind = "entra.remove_grants"
	// EntraRemoveAssignments deletes the user and group app-role assignments of the app's
	// service principal.
	EntraRemoveAssignments Kind = "entra.remove_assignments"
	// EntraDisableSignIn sets the service principal's accountEnabled to false.
	EntraDisableSignIn Kind = "entra.disable_sign_in"
	// OktaRemoveAssignments deletes the user and group assignments of the app instance.
	OktaRemoveAssignments Kind = "okta.remove_assignments"
	// OktaDeactivateApp deactivates the app instance (lifecycle/deactivate).
	OktaDeactivateApp Kind = "okta.deactivate_app"
)

// Target is what an action is aimed at.
type Target struct {
	// App is the provider's identifier of the app: a Google OAuth client id, an Entra
	// application (client) id, or an Okta app instance id.
	App string `json:"app"`
	// People are the e-mail addresses the action is limited to; empty means everyone.
	People []string `json:"people,omitempty"`
}

// Step is one change at the provider, usually for one person, written down at preview time and
// carried out at most once.
type Step struct {
	// Person is the e-mail address the step is about; empty for app-wide steps (a group
	// assignment, disabling the app).
	Person string `json:"person,omitempty"`
	// Object names what the step touches ("token", "oauth2PermissionGrant",
	// "appRoleAssignment", "user assignment", "group assignment", "servicePrincipal", "app").
	Object string `json:"object"`
	// ObjectID is the provider's id of it.
	ObjectID string `json:"object_id"`
	// Description says in words what will change, for the preview and the results.
	Description string `json:"description"`
	// Data is what Do needs beyond ObjectID (for example the user id a token belongs to).
	Data json.RawMessage `json:"data,omitempty"`
	// Undo is the recorded state that Undo restores; nil when the step cannot be undone.
	Undo json.RawMessage `json:"undo,omitempty"`
}

// Provider acts on one kind of identity provider (a discovery source kind).
type Provider interface {
	// Preview reads live from the provider which objects an action of kind k on t would touch.
	// It changes nothing. Bad or missing credentials, or a kind the provider does not do, are an
	// error.
	Preview(ctx context.Context, src discovery.Source, k Kind, t Target) ([]Step, error)
	// Do carries out one step. An object already gone (404) counts as done. Rate limits
	// (429 with Retry-After or the provider's reset headers) are waited out and 5xx retried
	// with backoff before an error is returned.
	Do(ctx context.Context, src discovery.Source, k Kind, s Step) error
	// Undo reverses a step that was done, from s.Undo; ErrCannotUndo when the provider cannot.
	Undo(ctx context.Context, src discovery.Source, k Kind, s Step) error
}

// ErrCannotUndo is returned by Undo for steps the provider cannot reverse.
var ErrCannotUndo = errors.New("this change cannot be undone at the provider")
