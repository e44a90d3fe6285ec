package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestCategoryOf(t *testing.T) {
	for action, want := range map[string]string{
		"request.vote": "requests", "request.close_vote": "requests", "app.update": "catalogue", "app.risk.review": "catalogue",
		"catalog.seed": "catalogue", "category.save": "catalogue", "discovery.import": "discovery", "user.sign_in": "signin",
		"user.sign_out": "signin", "token.create": "admin", "risk.weights.update": "admin", "something.new": "admin",
	} {
		if got := audit.CategoryOf(action).Key; got != want {
			t.Errorf("%s is in %q, want %q", action, got, want)
		}
	}
}

// TestListByCategory: the log filters by category, and sign-ins can be left out.
func TestListByCategory(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			actions := []string{"user.sign_in", "request.vote", "app.update", "discovery.import", "token.create", "user.sign_out", "request.submit"}
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				for i, a := range actions {
					if err := audit.Append(ctx, tx, t0.Add(time.Duration(i)*time.Minute), audit.System, a, "x", "1", nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				f    audit.Filter
				want int
			}{
				{audit.Filter{}, 7},
				{audit.Filter{HideSignIns: true}, 5},
				{audit.Filter{Category: "requests"}, 2},
				{audit.Filter{Category: "signin"}, 2},
				{audit.Filter{Category: "admin"}, 1},
				{audit.Filter{Category: "catalogue", HideSignIns: true}, 1},
			} {
				got, err := audit.List(ctx, d, tt.f)
				if err != nil || len(got) != tt.want {
					t.Errorf("%+v: %d entries (%v), want %d", tt.f, len(got), err, tt.want)
				}
			}
			if _, err := audit.List(ctx, d, audit.Filter{Category: "nope"}); !errs.Is(err, errs.Invalid) {
				t.Errorf("unknown category: %v", err)
			}
		})
	}
}
