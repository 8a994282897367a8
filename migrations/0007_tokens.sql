-- +goose Up
-- API bearer tokens. Only the sha256 of a secret is stored (the secret is 256
-- random bits, so a fast hash is enough); the secret is shown once at creation.
-- Revoked tokens stay for the record; a name is unique among live tokens.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    secret_sha256 bytea NOT NULL UNIQUE,
    scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin']::text[] AND cardinality(scopes) > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE api_tokens;
