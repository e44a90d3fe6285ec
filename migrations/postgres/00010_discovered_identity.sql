-- +goose Up
-- Discovery sees apps, not identifiers. Every identifier a log names (discovered_identifiers, the
-- old per-identifier table) points at one discovered app; people are counted per discovered app
-- in usage_discovered_users, so a person seen through several sources is one person.
ALTER TABLE discovered_apps RENAME TO discovered_identifiers;
ALTER TABLE discovered_identifiers RENAME CONSTRAINT discovered_apps_pkey TO discovered_identifiers_pkey;
ALTER TABLE discovered_identifiers RENAME CONSTRAINT discovered_apps_app_id_fkey TO discovered_identifiers_app_id_fkey;

CREATE TABLE discovered_apps (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    display_name TEXT NOT NULL,
    app_id       BIGINT REFERENCES apps (id) ON DELETE SET NULL,
    triage       TEXT NOT NULL DEFAULT 'new',
    note         TEXT NOT NULL DEFAULT '',
    assignee     TEXT NOT NULL DEFAULT '',
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    seed_key     TEXT
);
CREATE INDEX discovered_apps_seed_key ON discovered_apps (seed_key);

-- Until the resolver runs, each identifier keeps its own app with its triage.
INSERT INTO discovered_apps (display_name, app_id, triage, note, assignee, first_seen, last_seen, seed_key)
SELECT display_name, app_id, triage, note, assignee, first_seen, last_seen, app_key FROM discovered_identifiers;

ALTER TABLE discovered_identifiers ADD COLUMN discovered_app_id BIGINT REFERENCES discovered_apps (id);
-- A pinned identifier stays where security put it (a merge or a split), whatever the rules say.
ALTER TABLE discovered_identifiers ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT false;
UPDATE discovered_identifiers SET discovered_app_id = (SELECT d.id FROM discovered_apps d WHERE d.seed_key = discovered_identifiers.app_key);
DROP INDEX discovered_apps_seed_key;
ALTER TABLE discovered_apps DROP COLUMN seed_key;
ALTER TABLE discovered_identifiers DROP COLUMN triage;
ALTER TABLE discovered_identifiers DROP COLUMN note;
ALTER TABLE discovered_identifiers DROP COLUMN assignee;
CREATE INDEX discovered_identifiers_app ON discovered_identifiers (discovered_app_id);

-- Resolution keys ("catalog:12", "name:zoom", "split:okta:0oa…") and the app each leads to: a
-- new identifier with the same key joins that app, so merges apply to later imports too.
CREATE TABLE discovered_app_keys (
    key               TEXT PRIMARY KEY,
    discovered_app_id BIGINT NOT NULL REFERENCES discovered_apps (id)
);
CREATE INDEX discovered_app_keys_app ON discovered_app_keys (discovered_app_id);

-- One row per discovered app and person (an e-mail, or "id:…" while no log has tied the IdP
-- user id to an address).
CREATE TABLE usage_discovered_users (
    discovered_app_id BIGINT NOT NULL,
    user_key          TEXT NOT NULL,
    first_used        TIMESTAMPTZ,
    last_used         TIMESTAMPTZ,
    last_seen         TIMESTAMPTZ NOT NULL,
    events            INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (discovered_app_id, user_key)
);
CREATE INDEX usage_discovered_users_user ON usage_discovered_users (user_key);

INSERT INTO usage_discovered_users (discovered_app_id, user_key, first_used, last_used, last_seen, events, failures)
SELECT i.discovered_app_id, u.user_key, u.first_used, u.last_used, u.last_seen, u.events, u.failures
FROM usage_app_users u JOIN discovered_identifiers i ON i.app_key = u.app_key;

-- IdP user ids that a log has tied to an e-mail ("id:00u…" → "ann@example.com").
CREATE TABLE person_ids (
    user_key TEXT PRIMARY KEY,
    email    TEXT NOT NULL
);

-- Distinct people using unapproved apps per UTC day, for the overview's chart.
CREATE TABLE discovery_shadow_days (
    day    TEXT PRIMARY KEY, -- YYYY-MM-DD
    people INTEGER NOT NULL
);

-- +goose Down
DROP TABLE discovery_shadow_days;
DROP TABLE person_ids;
DROP TABLE usage_discovered_users;
DROP TABLE discovered_app_keys;
DROP INDEX discovered_identifiers_app;
ALTER TABLE discovered_identifiers ADD COLUMN triage TEXT NOT NULL DEFAULT 'new';
ALTER TABLE discovered_identifiers ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE discovered_identifiers ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
UPDATE discovered_identifiers SET triage = COALESCE((SELECT d.triage FROM discovered_apps d WHERE d.id = discovered_identifiers.discovered_app_id), 'new'),
    note = COALESCE((SELECT d.note FROM discovered_apps d WHERE d.id = discovered_identifiers.discovered_app_id), ''),
    assignee = COALESCE((SELECT d.assignee FROM discovered_apps d WHERE d.id = discovered_identifiers.discovered_app_id), '');
ALTER TABLE discovered_identifiers DROP COLUMN pinned;
ALTER TABLE discovered_identifiers DROP COLUMN discovered_app_id;
DROP TABLE discovered_apps;
ALTER TABLE discovered_identifiers RENAME TO discovered_apps;
ALTER TABLE discovered_apps RENAME CONSTRAINT discovered_identifiers_pkey TO discovered_apps_pkey;
ALTER TABLE discovered_apps RENAME CONSTRAINT discovered_identifiers_app_id_fkey TO discovered_apps_app_id_fkey;
