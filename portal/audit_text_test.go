package portal

import (
	"strings"
	"testing"

	"github.com/pavedhq/paved/internal/audit"
)

func TestDescribeAudit(t *testing.T) {
	for _, tt := range []struct {
		action, details, want string
	}{
		{"request.vote", `{"choice":"approve"}`, "Voted Approve on request 12."},
		{"request.pledge", `{"amount":"1,200.00 EUR","period":"yearly","cost_centre":"ENG-42"}`, "Pledged 1,200.00 EUR yearly from cost centre ENG-42 to request 12."},
		{"request.complete_review", `{"from":"in_review","to":"reviewed","note":"approve_with_conditions"}`,
			"Completed the security review (request 12): In security review → Reviewed, waiting for the vote. Recommends: Approve with conditions."},
		{"request.decide", `{"from":"vote_closed","to":"decided","note":"rejected_with_guidance"}`,
			"Recorded the decision (request 12): Vote closed, waiting for the decision → Decided. Rejected with guidance."},
		{"user.sign_in", `{"roles":"employee,committee","ip":"10.0.0.1"}`, "Signed in (roles: employee, committee)."},
		{"app.update", `{}`, "Updated 12 in the catalogue."},
		{"something.brand_new", `{}`, "Something brand new app 12."},
	} {
		got := describeAudit(audit.Entry{Action: tt.action, ObjectType: "app", ObjectID: "12", Details: tt.details})
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.action, got, tt.want)
		}
		if strings.Contains(got, "_") {
			t.Errorf("%s: a code shows through: %q", tt.action, got)
		}
	}
}
