-- +goose Up
CREATE TABLE requests (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,
    state               TEXT NOT NULL,
    app_id              INTEGER REFERENCES apps (id),
    app_name            TEXT NOT NULL,
    website             TEXT NOT NULL DEFAULT '',
    use_case            TEXT NOT NULL DEFAULT '',
    data_classification TEXT NOT NULL DEFAULT '',
    expected_users      INTEGER NOT NULL DEFAULT 0,
    estimate_minor      INTEGER,
    estimate_currency   TEXT NOT NULL DEFAULT '',
    requester_id        INTEGER NOT NULL REFERENCES users (id),
    outcome             TEXT NOT NULL DEFAULT '',
    conditions          TEXT NOT NULL DEFAULT '',
    rationale           TEXT NOT NULL DEFAULT '',
    what_would_change   TEXT NOT NULL DEFAULT '',
    pilot_ends_at       TIMESTAMP,
    review              TEXT NOT NULL DEFAULT '',
    vote_opened_at      TIMESTAMP,
    tally               TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX requests_state ON requests (state);
CREATE INDEX requests_requester ON requests (requester_id);

-- The request's timeline: every transition, who made it and why.
CREATE TABLE request_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_events_request ON request_events (request_id);

CREATE TABLE supporters (
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, user_id)
);

CREATE TABLE pledges (
    request_id   INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    cost_centre  TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    period       TEXT NOT NULL,
    seats        INTEGER NOT NULL DEFAULT 0,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, user_id)
);

CREATE TABLE votes (
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    choice     TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    cast_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, user_id)
);

-- +goose Down
DROP TABLE votes;
DROP TABLE pledges;
DROP TABLE supporters;
DROP TABLE request_events;
DROP TABLE requests;
