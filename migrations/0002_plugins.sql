-- +goose Up
-- Registered plugins (built-ins are registered at every start and not stored).
-- A (kind, name, version) is immutable: re-registering it with another sha256
-- is refused by the catalog.
CREATE TABLE plugins (
    kind           text NOT NULL CHECK (kind IN ('proposer', 'validator')),
    name           text NOT NULL,
    version        text NOT NULL,
    command        text NOT NULL,
    args           jsonb NOT NULL DEFAULT '[]',
    sha256         text NOT NULL,
    env_allowlist  jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name, version)
);

-- Proposer variants: a proposer plugin plus configuration. Rows are never
-- deleted (routing and experiment history refer to them); they are retired.
CREATE TABLE variants (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL UNIQUE,
    plugin_name           text NOT NULL,
    plugin_version        text NOT NULL DEFAULT '',
    model                 text NOT NULL DEFAULT '',
    base_url              text NOT NULL DEFAULT '',
    system_prompt         text NOT NULL DEFAULT '',
    prompt_template       text NOT NULL DEFAULT '',
    temperature           double precision NOT NULL DEFAULT 0,
    max_tokens            integer NOT NULL DEFAULT 0,
    edit_format           text NOT NULL DEFAULT 'whole',
    few_shot_count        integer NOT NULL DEFAULT 0,
    input_price_per_mtok  double precision NOT NULL DEFAULT 0,
    output_price_per_mtok double precision NOT NULL DEFAULT 0,
    params                jsonb NOT NULL DEFAULT '{}',
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    retired_at            timestamptz
);
CREATE INDEX variants_plugin ON variants (plugin_name, status);

-- +goose Down
DROP TABLE variants;
DROP TABLE plugins;
