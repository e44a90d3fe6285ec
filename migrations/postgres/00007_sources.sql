-- +goose Up
-- API sources that discovery pulls on a schedule. secret holds the API token in clear text: it
-- stays server-side (no listing or API ever returns it), but encrypting it at rest is left for
-- later. cursor is where the next pull starts: an Okta "after" link or time, the newest Graph
-- createdDateTime or Google id.time, or a JSON resume point while a pull is half done.
CREATE TABLE discovery_sources (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('okta', 'entra', 'google')),
    name        TEXT NOT NULL UNIQUE,
    base_url    TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    cursor      TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    last_run_at TIMESTAMPTZ,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE discovery_sources;
