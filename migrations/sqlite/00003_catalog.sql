-- +goose Up
CREATE TABLE categories (
    slug     TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE apps (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    slug                  TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    vendor                TEXT NOT NULL DEFAULT '',
    website               TEXT NOT NULL DEFAULT '',
    description           TEXT NOT NULL DEFAULT '',
    category              TEXT NOT NULL REFERENCES categories (slug),
    tags                  TEXT NOT NULL DEFAULT '',
    logo_url              TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL,
    conditions            TEXT NOT NULL DEFAULT '',
    max_classification    TEXT NOT NULL DEFAULT '',
    access_instructions   TEXT NOT NULL DEFAULT '',
    decision_rationale    TEXT NOT NULL DEFAULT '',
    what_would_change     TEXT NOT NULL DEFAULT '',
    business_owner        TEXT NOT NULL DEFAULT '',
    licence_model         TEXT NOT NULL DEFAULT '',
    list_cost_minor       INTEGER,
    list_cost_currency    TEXT NOT NULL DEFAULT '',
    score_override        REAL,
    score_override_reason TEXT NOT NULL DEFAULT '',
    risk_reviewed_at      TIMESTAMP,
    risk_reviewed_by      TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX apps_status ON apps (status);
CREATE INDEX apps_category ON apps (category);

-- The names an app is seen under in identity-provider logs; discovery matches on them.
CREATE TABLE app_identifiers (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    value  TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX app_identifiers_app ON app_identifiers (app_id);

CREATE TABLE app_alternatives (
    app_id         INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    alternative_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    note           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (app_id, alternative_id),
    CHECK (app_id <> alternative_id)
);

CREATE TABLE risk_factors (
    app_id       INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    factor       TEXT NOT NULL,
    answer       TEXT NOT NULL DEFAULT 'unknown',
    note         TEXT NOT NULL DEFAULT '',
    evidence_url TEXT NOT NULL DEFAULT '',
    checked_on   TIMESTAMP,
    PRIMARY KEY (app_id, factor)
);

-- Administrators' weights per factor; a factor with no row has its default weight.
CREATE TABLE risk_weights (
    factor TEXT PRIMARY KEY,
    weight INTEGER NOT NULL
);

-- +goose Down
DROP TABLE risk_weights;
DROP TABLE risk_factors;
DROP TABLE app_alternatives;
DROP TABLE app_identifiers;
DROP TABLE apps;
DROP TABLE categories;
