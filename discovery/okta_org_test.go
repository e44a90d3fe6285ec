package discovery

import (
	"bytes"
	"context"
	"testing"

	"github.com/pavedhq/paved/internal/fixturegen"
)

// TestOktaOrgLog checks the large generated log the import benchmark uses: the parser reads every
// record, emits what the generator says it emits, finds the distinct events it counted, and sees
// a long tail of the organisation's apps.
func TestOktaOrgLog(t *testing.T) {
	var buf bytes.Buffer
	const events, users, apps = 6000, 400, 60
	st, err := fixturegen.WriteOktaOrg(&buf, events, users, apps, 3)
	if err != nil {
		t.Fatal(err)
	}
	ids, keys, people := map[string]bool{}, map[string]bool{}, map[string]bool{}
	emitted := 0
	ps, err := (&OktaParser{}).Parse(context.Background(), bytes.NewReader(buf.Bytes()), func(e UsageEvent) error {
		emitted++
		ids[e.SourceEventID] = true
		keys[e.AppKey] = true
		people[e.UserEmail] = true
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Read != events || emitted != st.Emitted || len(ids) != st.Distinct {
		t.Errorf("parsed read %d, emitted %d, distinct %d; generator says %d, %d, %d", ps.Read, emitted, len(ids), events, st.Emitted, st.Distinct)
	}
	if st.Distinct >= st.Emitted || st.Emitted < events/2 {
		t.Errorf("stats %+v: want duplicates and mostly emitted events", st)
	}
	if len(keys) < apps/2 || len(people) < users/4 {
		t.Errorf("saw %d app keys and %d people; want a long tail of %d apps and %d people", len(keys), len(people), apps, users)
	}
}
