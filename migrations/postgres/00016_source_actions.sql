-- +goose Up
-- Whether security may act at the identity provider through this source (revoke grants, remove
-- assignments, turn an app off). Off by default: a source only reads until an admin turns it on.
ALTER TABLE discovery_sources ADD COLUMN actions BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE discovery_sources DROP COLUMN actions;
