-- +goose Up
-- Decisions carried to an identity provider: revoke grants, remove assignments, disable an app.
-- An action is previewed (its steps read live from the provider), approved by a second security
-- member within expires_at, then carried out one step at a time by a job.
CREATE TABLE actions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL,             -- discovery/actions Kind, such as google.revoke_tokens
    source_id         INTEGER NOT NULL,          -- the discovery source (and credentials) acting
    source_name       TEXT NOT NULL DEFAULT '',
    discovered_app_id INTEGER REFERENCES discovered_apps (id) ON DELETE SET NULL,
    finding_id        INTEGER REFERENCES findings (id) ON DELETE SET NULL,
    target_app        TEXT NOT NULL,             -- the provider's id of the app
    app_name          TEXT NOT NULL DEFAULT '',
    alternatives      TEXT NOT NULL DEFAULT '[]', -- JSON: the approved apps named to people
    exception_url     TEXT NOT NULL DEFAULT '',  -- where people ask for an exception
    people_mode       TEXT NOT NULL,             -- everyone, finding or list
    people            TEXT NOT NULL DEFAULT '',  -- the e-mails chosen, one a line
    reason            TEXT NOT NULL,
    state             TEXT NOT NULL,
    started_by        TEXT NOT NULL,
    started_by_id     INTEGER,
    approved_by       TEXT NOT NULL DEFAULT '',
    approved_by_id    INTEGER,
    approved_at       TIMESTAMP,
    expires_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    last_error        TEXT NOT NULL DEFAULT '', -- why the job could not act at all
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX actions_state ON actions (state);

-- One change at the provider, carried out at most once; position keeps the preview's order.
CREATE TABLE action_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id   INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    person      TEXT NOT NULL DEFAULT '',
    object      TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    description TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '',
    undo        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,                   -- pending, done, failed or skipped
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    done_at     TIMESTAMP,
    undone_at   TIMESTAMP,
    notified_at TIMESTAMP,                       -- when its person was told (once per action)
    UNIQUE (action_id, position)
);
CREATE INDEX action_steps_person ON action_steps (person);

-- +goose Down
DROP TABLE action_steps;
DROP TABLE actions;
