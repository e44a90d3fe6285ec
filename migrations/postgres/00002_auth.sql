-- +goose Up
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT 'employee';
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;

-- Only the SHA-256 of a session id is stored: a database leak does not hand out sessions.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    id_token     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A sign-in in progress: state, nonce and PKCE verifier, bound to the browser by a cookie
-- whose hash is the key. Used once, then deleted.
CREATE TABLE login_flows (
    browser_hash TEXT PRIMARY KEY,
    state        TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    return_to    TEXT NOT NULL DEFAULT '/',
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE login_flows;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN last_login_at;
ALTER TABLE users DROP COLUMN roles;
