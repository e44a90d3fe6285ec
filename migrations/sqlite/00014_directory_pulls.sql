-- +goose Up
-- Each API source's people directory (its groups and who is in them, departments) is pulled on
-- a schedule of its own, beside its logs; a failed directory pull is recorded apart from the
-- log pull, so a missing directory permission never hides the logs' state.
ALTER TABLE discovery_sources ADD COLUMN directory_synced_at TIMESTAMP;
ALTER TABLE discovery_sources ADD COLUMN directory_people INTEGER NOT NULL DEFAULT 0;
ALTER TABLE discovery_sources ADD COLUMN directory_error TEXT NOT NULL DEFAULT '';

-- Evaluating conditions starts from a catalogue app and reaches its discovered apps.
CREATE INDEX discovered_apps_app ON discovered_apps (app_id);

-- +goose Down
DROP INDEX discovered_apps_app;
ALTER TABLE discovery_sources DROP COLUMN directory_error;
ALTER TABLE discovery_sources DROP COLUMN directory_people;
ALTER TABLE discovery_sources DROP COLUMN directory_synced_at;
