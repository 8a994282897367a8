-- +goose Up
-- The endpoints a plugin's allowlisted keys may be sent to: a variant whose
-- base_url matches none of them gets no key.
ALTER TABLE plugins ADD COLUMN allowed_base_urls jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE plugins DROP COLUMN allowed_base_urls;
