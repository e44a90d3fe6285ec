package catalog

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// RiskScores computes the risk score of each of the given apps, by the one rule of
// ComputeScore, for lists that sort or label many apps at once. Apps with nothing answered and
// no override are left out: they are not assessed yet.
func (s *Service) RiskScores(ctx context.Context, appIDs []int64) (map[int64]Score, error) {
	out := map[int64]Score{}
	if len(appIDs) == 0 {
		return out, nil
	}
	weights, err := s.RiskWeights(ctx)
	if err != nil {
		return nil, err
	}
	q, args, err := sqlx.In("SELECT app_id, factor, answer, note, evidence_url, checked_on FROM risk_factors WHERE app_id IN (?)", appIDs)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		AppID int64 `db:"app_id"`
		RiskAnswer
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list risk answers: %w", err)
	}
	answers := map[int64][]RiskAnswer{}
	for _, r := range rows {
		answers[r.AppID] = append(answers[r.AppID], r.RiskAnswer)
	}
	q, args, err = sqlx.In("SELECT id, score_override, score_override_reason FROM apps WHERE id IN (?)", appIDs)
	if err != nil {
		return nil, err
	}
	var apps []struct {
		ID       int64    `db:"id"`
		Override *float64 `db:"score_override"`
		Reason   string   `db:"score_override_reason"`
	}
	if err := s.db.SelectContext(ctx, &apps, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list score overrides: %w", err)
	}
	for _, a := range apps {
		sc := ComputeScore(answers[a.ID], weights, a.Override, a.Reason, s.Now())
		if sc.Answered > 0 || sc.Overridden {
			out[a.ID] = sc
		}
	}
	return out, nil
}
