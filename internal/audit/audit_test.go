package audit_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestAppendListAndAppendOnly(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				if err := audit.Append(ctx, tx, t0, audit.System, "app.create", "app", "slack", map[string]string{"name": "Slack"}); err != nil {
					return err
				}
				return audit.Append(ctx, tx, t0.Add(time.Hour), audit.Actor{Name: "sec@example.com", RequestID: "r1"}, "app.update", "app", "slack", nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			all, err := audit.List(ctx, d, audit.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || all[0].Action != "app.update" || all[1].Action != "app.create" {
				t.Fatalf("list = %+v, want newest first", all)
			}
			var details map[string]string
			if err := json.Unmarshal([]byte(all[1].Details), &details); err != nil || details["name"] != "Slack" {
				t.Errorf("details = %q (%v)", all[1].Details, err)
			}
			if all[0].Details != "{}" || all[0].RequestID != "r1" || !all[0].At.Equal(t0.Add(time.Hour)) {
				t.Errorf("second entry = %+v", all[0])
			}
			got, err := audit.List(ctx, d, audit.Filter{Actor: "system", Since: t0})
			if err != nil || len(got) != 1 || got[0].Action != "app.create" {
				t.Errorf("filtered list = %+v (%v)", got, err)
			}

			// Append-only: the database itself refuses changes to written rows.
			if _, err := d.ExecContext(ctx, "UPDATE audit_log SET actor = 'someone else'"); err == nil {
				t.Error("UPDATE on audit_log succeeded")
			}
			if _, err := d.ExecContext(ctx, "DELETE FROM audit_log"); err == nil {
				t.Error("DELETE on audit_log succeeded")
			}
			if again, _ := audit.List(ctx, d, audit.Filter{}); len(again) != 2 {
				t.Errorf("after refused changes, %d entries", len(again))
			}

			// A failed transaction leaves no entry behind.
			_ = d.InTx(ctx, func(tx *sqlx.Tx) error {
				_ = audit.Append(ctx, tx, t0, audit.System, "app.delete", "app", "slack", nil)
				return context.Canceled
			})
			if again, _ := audit.List(ctx, d, audit.Filter{Action: "app.delete"}); len(again) != 0 {
				t.Errorf("rolled-back entry is visible: %+v", again)
			}
		})
	}
}
