-- +goose Up
-- The identity provider's groups of each user as of their last sign-in, as a JSON list, so
-- that a group can be given a duty (chairing the committee) without becoming a role.
ALTER TABLE users ADD COLUMN idp_groups TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE users DROP COLUMN idp_groups;
