-- +goose Up
-- Usage rollups, so the dashboard reads small tables whatever the number of raw events, and the
-- counts survive when raw events are pruned. An import adds its events to them every so many
-- events and at its end. last_event_id is the highest event id a run has committed (moved with
-- each batch); rolled_up_to the highest already added to the rollups (moved in the same
-- transaction as them), so each event is counted exactly once even after a crash.
ALTER TABLE import_runs ADD COLUMN last_event_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN rolled_up_to BIGINT NOT NULL DEFAULT 0;

-- Nothing reads raw events by app any more; retention deletes them by time.
DROP INDEX usage_events_app_time;
CREATE INDEX usage_events_time ON usage_events (occurred_at);

-- One row per app and person: distinct users over any window are the rows whose last_used is
-- in it; events and failures are all-time counts.
CREATE TABLE usage_app_users (
    app_key    TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    first_used TIMESTAMPTZ,          -- NULL while the person has only failed
    last_used  TIMESTAMPTZ,
    last_seen  TIMESTAMPTZ NOT NULL, -- any outcome
    events     INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_key, user_key)
);
CREATE INDEX usage_app_users_user ON usage_app_users (user_key);

-- One row per app and UTC day: events over a window and the daily chart.
CREATE TABLE usage_app_days (
    app_key  TEXT NOT NULL,
    day      TEXT NOT NULL, -- YYYY-MM-DD
    events   INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_key, day)
);

-- Which sources have seen an app, for the dashboard's source filter.
CREATE TABLE discovered_app_sources (
    app_key TEXT NOT NULL,
    source  TEXT NOT NULL,
    PRIMARY KEY (app_key, source)
);

INSERT INTO usage_app_users (app_key, user_key, first_used, last_used, last_seen, events, failures)
SELECT app_key, user_key,
    MIN(CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN occurred_at END),
    MAX(CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN occurred_at END),
    MAX(occurred_at),
    COUNT(CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN 1 END),
    COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
FROM usage_events WHERE true GROUP BY app_key, user_key;

INSERT INTO usage_app_days (app_key, day, events, failures)
SELECT app_key, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
    COUNT(CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN 1 END),
    COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
FROM usage_events WHERE true GROUP BY app_key, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD');

INSERT INTO discovered_app_sources (app_key, source)
SELECT DISTINCT app_key, source FROM usage_events WHERE true;

UPDATE import_runs SET last_event_id = COALESCE((SELECT MAX(e.id) FROM usage_events e WHERE e.import_run_id = import_runs.id), 0);
UPDATE import_runs SET rolled_up_to = last_event_id;

-- +goose Down
DROP INDEX usage_events_time;
CREATE INDEX usage_events_app_time ON usage_events (app_key, occurred_at);
ALTER TABLE import_runs DROP COLUMN rolled_up_to;
ALTER TABLE import_runs DROP COLUMN last_event_id;
DROP TABLE discovered_app_sources;
DROP TABLE usage_app_days;
DROP TABLE usage_app_users;
