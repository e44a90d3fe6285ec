-- +goose Up
-- When a finding went out in security's digest; NULL means it has not yet. Findings that were
-- resolved before digests existed need none.
ALTER TABLE findings ADD COLUMN announced_at TIMESTAMPTZ;
UPDATE findings SET announced_at = updated_at WHERE status = 'resolved';

-- +goose Down
ALTER TABLE findings DROP COLUMN announced_at;
