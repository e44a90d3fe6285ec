-- +goose Up
ALTER TABLE discovered_apps ADD COLUMN assignee TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE discovered_apps DROP COLUMN assignee;
