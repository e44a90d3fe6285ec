package portal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/audit"
)

// auditRow is an audit entry as the log page shows it: a sentence first, the JSON behind a fold.
type auditRow struct {
	audit.Entry
	Sentence string
	Category string
}

// describeAudit writes an entry as a sentence ("Voted Approve on request 12."), from its
// action and details. Actions it does not know are still readable: their name in words.
func describeAudit(e audit.Entry) string {
	d := map[string]any{}
	_ = json.Unmarshal([]byte(e.Details), &d)
	str := func(k string) string {
		if v, ok := d[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	obj := e.ObjectID
	req := "request " + obj
	switch e.Action {
	case "request.vote":
		return fmt.Sprintf("Voted %s on %s.", requests.VoteChoice(str("choice")).Label(), req)
	case "request.support":
		return fmt.Sprintf("Supports %s.", req)
	case "request.comment":
		return fmt.Sprintf("Commented on %s.", req)
	case "request.pledge":
		return fmt.Sprintf("Pledged %s %s from cost centre %s to %s.", str("amount"), str("period"), str("cost_centre"), req)
	case "request.pledge_withdraw":
		return fmt.Sprintf("Withdrew their pledge from %s.", req)
	case "user.sign_in":
		if roles := str("roles"); roles != "" {
			return fmt.Sprintf("Signed in (roles: %s).", strings.ReplaceAll(roles, ",", ", "))
		}
		return "Signed in."
	case "user.sign_out":
		return "Signed out."
	case "app.create":
		return fmt.Sprintf("Added %s to the catalogue.", obj)
	case "app.update":
		return fmt.Sprintf("Updated %s in the catalogue.", obj)
	case "app.delete":
		return fmt.Sprintf("Removed %s from the catalogue.", obj)
	case "app.alternative.set":
		return fmt.Sprintf("Set an approved alternative for %s.", obj)
	case "app.alternative.remove":
		return fmt.Sprintf("Removed an alternative from %s.", obj)
	case "app.identifier.add":
		return fmt.Sprintf("Added a log identifier to %s.", obj)
	case "app.identifier.remove":
		return fmt.Sprintf("Removed a log identifier from %s.", obj)
	case "app.risk.review":
		return fmt.Sprintf("Reviewed the risk profile of %s.", obj)
	case "app.risk.override":
		return fmt.Sprintf("Set the risk score of %s by hand.", obj)
	case "catalog.seed":
		return "Loaded the curated catalogue."
	case "catalog.bulk_create":
		return "Added apps to the catalogue in bulk."
	case "category.save":
		return fmt.Sprintf("Saved the category %s.", obj)
	case "discovery.import":
		return "Imported a usage log."
	case "discovery.link":
		return fmt.Sprintf("Linked discovered app %s to the catalogue.", obj)
	case "discovery.triage":
		if st := str("state"); st != "" {
			return fmt.Sprintf("Triaged discovered app %s as %s.", obj, st)
		}
		return fmt.Sprintf("Triaged discovered app %s.", obj)
	case "discovery.source.create":
		return "Added a discovery source."
	case "token.create":
		return fmt.Sprintf("Created API token %s.", obj)
	case "token.revoke":
		return fmt.Sprintf("Revoked API token %s.", obj)
	case "risk.weights.update":
		return "Changed the risk weights."
	case "action.preview":
		return fmt.Sprintf("Previewed action %s on %s: %s steps, because: %s", obj, str("app"), str("steps"), str("reason"))
	case "action.approve":
		return fmt.Sprintf("Approved action %s on %s, started by %s.", obj, str("app"), str("started_by"))
	case "action.start":
		return fmt.Sprintf("Started carrying out action %s on %s.", obj, str("app"))
	case "action.step.done":
		return fmt.Sprintf("Action %s, step %s done: %s %s of %s.", obj, str("step"), str("object"), str("object_id"), cmp.Or(str("person"), "the app"))
	case "action.step.fail":
		return fmt.Sprintf("Action %s, step %s failed (%s): %s.", obj, str("step"), cmp.Or(str("person"), "the app"), str("error"))
	case "action.step.undo":
		return fmt.Sprintf("Action %s, step %s undone (%s).", obj, str("step"), cmp.Or(str("person"), "the app"))
	case "action.finish":
		return fmt.Sprintf("Action %s finished %s: %s done, %s failed, %s people told.", obj, str("state"), str("done"), str("failed"), str("told"))
	}
	if a, ok := strings.CutPrefix(e.Action, "request."); ok {
		action := requests.RequestAction(a)
		s := fmt.Sprintf("%s (%s)", action.Label(), req)
		from, to := requests.RequestState(str("from")), requests.RequestState(str("to"))
		if to != "" {
			s += fmt.Sprintf(": %s → %s", from.Label(), to.Label())
		}
		if note := requests.NoteText(action, str("note")); note != "" {
			s += ". " + strings.TrimSuffix(note, ".")
		}
		return s + "."
	}
	words := strings.NewReplacer(".", " ", "_", " ").Replace(e.Action)
	return strings.ToUpper(words[:1]) + words[1:] + " " + e.ObjectType + " " + obj + "."
}
