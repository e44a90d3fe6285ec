-- +goose Up
-- Checkable conditions beside an approval's text, one row per app; each is optional.
CREATE TABLE app_conditions (
    app_id           INTEGER PRIMARY KEY REFERENCES apps (id),
    seat_limit       INTEGER,                  -- at most this many distinct people in 30 days
    allowed_groups   TEXT NOT NULL DEFAULT '', -- departments or groups, one a line
    forbidden_scopes TEXT NOT NULL DEFAULT '', -- OAuth scopes no grant may include, one a line
    pilot_end        TIMESTAMP,                      -- no use after this
    updated_at       TIMESTAMP NOT NULL
);

-- The OAuth scopes each person granted each identifier, and whether they took them back.
CREATE TABLE usage_grant_scopes (
    app_key    TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at TIMESTAMP,
    revoked_at TIMESTAMP,
    PRIMARY KEY (app_key, user_key, scope)
) WITHOUT ROWID;

-- Usage found outside an app's conditions. At most one finding per app and condition is not
-- resolved; evaluating again updates it, and closes it when the usage stops.
CREATE TABLE findings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       INTEGER NOT NULL REFERENCES apps (id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    people       TEXT NOT NULL DEFAULT '', -- e-mails, one a line (security only)
    people_count INTEGER NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    first_seen   TIMESTAMP NOT NULL,
    last_seen    TIMESTAMP NOT NULL,
    opened_at    TIMESTAMP NOT NULL,
    resolved_at  TIMESTAMP,
    note         TEXT NOT NULL DEFAULT '',
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX findings_active ON findings (app_id, kind) WHERE status <> 'resolved';
CREATE INDEX findings_status ON findings (status);

-- +goose Down
DROP TABLE findings;
DROP TABLE usage_grant_scopes;
DROP TABLE app_conditions;
