-- +goose Up
CREATE TABLE import_runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT NOT NULL,
    format          TEXT NOT NULL,
    file_name       TEXT NOT NULL DEFAULT '',
    checksum        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    read_count      INTEGER NOT NULL DEFAULT 0,
    new_count       INTEGER NOT NULL DEFAULT 0,
    duplicate_count INTEGER NOT NULL DEFAULT 0,
    skipped_count   INTEGER NOT NULL DEFAULT 0,
    rejected_count  INTEGER NOT NULL DEFAULT 0,
    rejections      TEXT NOT NULL DEFAULT '[]',
    error           TEXT NOT NULL DEFAULT '',
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);

-- (source, source_event_id) is what makes a re-import add nothing.
CREATE TABLE usage_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    user_key        TEXT NOT NULL,
    app_key         TEXT NOT NULL,
    app_name        TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    ip              TEXT NOT NULL DEFAULT '',
    import_run_id   BIGINT REFERENCES import_runs (id),
    UNIQUE (source, source_event_id)
);
CREATE INDEX usage_events_app_time ON usage_events (app_key, occurred_at);

CREATE TABLE discovered_apps (
    app_key      TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    app_id       BIGINT REFERENCES apps (id) ON DELETE SET NULL,
    triage       TEXT NOT NULL DEFAULT 'new',
    note         TEXT NOT NULL DEFAULT '',
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE discovered_apps;
DROP TABLE usage_events;
DROP TABLE import_runs;
