-- +goose Up
-- The process carrying an action out holds a lease it renews while it works. A lease that ran
-- out while the action was still running means that process died: another one resumes the
-- action at its first step without a result.
ALTER TABLE actions ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN lease_until TIMESTAMP;

-- +goose Down
ALTER TABLE actions DROP COLUMN lease_until;
ALTER TABLE actions DROP COLUMN lease_owner;
