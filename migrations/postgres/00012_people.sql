-- +goose Up
-- The people directory: who is in which department and groups. A person is a normalised e-mail,
-- as in the usage rollups. Each source (a CSV export, an IdP directory, the groups a person
-- signs in to Paved with) replaces only what it said itself.
CREATE TABLE people (
    email      TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    manager    TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX people_department ON people (department);

CREATE TABLE person_groups (
    email      TEXT NOT NULL,
    group_name TEXT NOT NULL,
    source     TEXT NOT NULL,
    PRIMARY KEY (email, group_name, source)
);
CREATE INDEX person_groups_group ON person_groups (group_name);

-- +goose Down
DROP TABLE person_groups;
DROP TABLE people;
