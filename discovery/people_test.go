package discovery_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestPeopleDirectory(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			now := testNow()
			st := discovery.NewStore(d)
			st.Now = func() time.Time { return now }
			csv := "Email,Name,Department,Groups,Manager\n" +
				"Ann@Example.com,Ann Lee,Sales,sales-emea; customer-facing,boss@example.com\n" +
				"bob@example.com,Bob,Sales,customer-facing,\n" +
				"not-an-address,X,Sales,,\n" + // line 4: bad email
				"cat@example.com,Cat,Engineering,eng,nobody\n" + // line 5: bad manager
				"dan@example.com,Dan,Engineering,eng|platform,\n" +
				"eve@example.com,Eve,Support,,\n" +
				"fay@example.com,Fay,Engineering,eng,\n"
			res, err := st.ImportPeople(ctx, audit.System, strings.NewReader(csv))
			if err != nil || res.Read != 7 || res.Saved != 5 || res.Rejected != 2 {
				t.Fatalf("import: %+v, %v", res, err)
			}
			if r := res.Rejections; len(r) != 2 || r[0].Line != 4 || !strings.Contains(r[0].Reason, "column email") || r[1].Line != 5 || !strings.Contains(r[1].Reason, "column manager") {
				t.Errorf("rejections = %+v", r)
			}
			ann, err := st.PersonByEmail(ctx, "ann@example.com")
			if err != nil || ann.Department != "Sales" || ann.Manager != "boss@example.com" || !slices.Equal(ann.Groups, []string{"customer-facing", "sales-emea"}) {
				t.Errorf("ann = %+v, %v", ann, err)
			}
			// Again: the same directory, nothing new. A sign-in adds groups, keeps the department.
			if again, err := st.ImportPeople(ctx, audit.System, strings.NewReader(csv)); err != nil || again.Saved != 5 {
				t.Errorf("re-import: %+v, %v", again, err)
			}
			if err := st.RecordSignIn(ctx, "ANN@example.com", "Ann L.", []string{"paved-users", "customer-facing"}); err != nil {
				t.Fatal(err)
			}
			ann, _ = st.PersonByEmail(ctx, "ann@example.com")
			if ann.Department != "Sales" || ann.Name != "Ann L." || !slices.Equal(ann.Groups, []string{"customer-facing", "paved-users", "sales-emea"}) {
				t.Errorf("after signing in: %+v", ann)
			}
			// A person moves: the next export's department wins.
			if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader("email,department\nbob@example.com,Marketing\n")); err != nil {
				t.Fatal(err)
			}
			if bob, _ := st.PersonByEmail(ctx, "bob@example.com"); bob.Department != "Marketing" || len(bob.Groups) != 0 {
				t.Errorf("bob after moving: %+v", bob)
			}

			// Usage by department, with the privacy threshold per department.
			at := now.AddDate(0, 0, -1).Format(time.RFC3339)
			log := "time,user,app\n"
			for _, u := range []string{"ann", "bob", "dan", "fay", "cat", "eve", "zed"} {
				log += at + "," + u + "@example.com,Miro\n"
			}
			if _, err := st.Import(ctx, audit.System, "csv", "m.csv", strings.NewReader(log)); err != nil {
				t.Fatal(err)
			}
			id, _ := st.AppOfIdentifier(ctx, "name:miro")
			deps, err := st.Departments(ctx, id, 2)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]discovery.DepartmentUsage{}
			for _, dep := range deps {
				got[dep.Department] = dep
			}
			if got["Engineering"].UsersAll != 2 || got["Engineering"].Hidden {
				t.Errorf("Engineering = %+v", got["Engineering"])
			}
			// cat's record was rejected, zed is in no directory: two people of no known department.
			if got[""].UsersAll != 2 {
				t.Errorf("people of no known department = %+v", got[""])
			}
			for _, small := range []string{"Sales", "Marketing", "Support"} {
				if g := got[small]; !g.Hidden || g.UsersAll != 0 {
					t.Errorf("%q, under the threshold, shows counts: %+v", small, g)
				}
			}
			// Not a directory.
			for _, bad := range []string{"", "name,department\nAnn,Sales\n", "email\n\"unterminated\n"} {
				if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line") {
					t.Errorf("ImportPeople(%q) = %v, want an error naming the line", bad, err)
				}
			}
		})
	}
}
