-- +goose Up
-- The change log of the catalogue, in commit order as far as ids go: every change to an app adds
-- its slug here in the change's own transaction. Each replica with an embedded search index
-- applies the log to its own index, keeping its own cursor (the last id applied) beside it.
CREATE TABLE catalog_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE catalog_changes;
