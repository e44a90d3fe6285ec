-- +goose Up
-- The OAuth scopes of a grant or revoke, one a line ('' for none), so the granted scopes can be
-- counted from the stored events when an import stopped before it counted them itself. NULL for
-- other events, and for events stored before: their scopes were counted as they were stored.
ALTER TABLE usage_events ADD COLUMN scopes TEXT;
-- A long import counts people per discovered app once, at its end; until then this is set, and a
-- run left with it set (the process died) has its apps' people recounted.
ALTER TABLE import_runs ADD COLUMN people_pending INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE import_runs DROP COLUMN people_pending;
ALTER TABLE usage_events DROP COLUMN scopes;
