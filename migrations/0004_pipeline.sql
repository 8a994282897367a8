-- +goose Up
-- Routing: complexity tiers map to proposer variants.
CREATE TABLE routing_tiers (
    name                text PRIMARY KEY,
    min_complexity      integer NOT NULL CHECK (min_complexity BETWEEN 1 AND 10),
    max_complexity      integer NOT NULL CHECK (max_complexity BETWEEN 1 AND 10),
    variant_id          uuid REFERENCES variants (id),
    fallback_variant_id uuid REFERENCES variants (id),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (min_complexity <= max_complexity)
);
INSERT INTO routing_tiers (name, min_complexity, max_complexity) VALUES ('cheap', 1, 3), ('strong', 4, 10);

-- Each approval (first run or retry) is one execution, driven by one job.
ALTER TABLE work_orders ADD COLUMN executions integer NOT NULL DEFAULT 0;
ALTER TABLE work_orders ADD COLUMN job_id bigint;
-- A work order created for a given variant skips routing (suite runs).
ALTER TABLE work_orders ADD COLUMN pinned_variant_id uuid;

-- Every proposal cycle is stored whole: what was asked, what came back, what
-- was applied, what the validators found, and what it cost.
CREATE TABLE attempts (
    id              uuid PRIMARY KEY,
    work_order_id   uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    execution       integer NOT NULL,
    cycle           integer NOT NULL,
    variant_id      uuid,
    model           text NOT NULL DEFAULT '',
    prompt_hash     text NOT NULL DEFAULT '',
    raw_proposal    text NOT NULL DEFAULT '',
    edits           jsonb NOT NULL DEFAULT '[]',
    edit_findings   jsonb NOT NULL DEFAULT '[]',
    changed_files   jsonb NOT NULL DEFAULT '[]',
    tree_hash       text NOT NULL DEFAULT '',
    validations     jsonb NOT NULL DEFAULT '[]',
    build_passed    boolean NOT NULL DEFAULT false,
    tests_passed    boolean NOT NULL DEFAULT false,
    input_tokens    bigint NOT NULL DEFAULT 0,
    output_tokens   bigint NOT NULL DEFAULT 0,
    cost_usd        double precision NOT NULL DEFAULT 0,
    finish_reason   text NOT NULL DEFAULT '',
    duration_ms     bigint NOT NULL DEFAULT 0,
    score           jsonb,
    error           text NOT NULL DEFAULT '',
    -- A shadow attempt is a candidate variant's run on a copy of the work
    -- order (A/B shadow mode): validated and scored, never published.
    shadow          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (work_order_id, execution, shadow, cycle)
);

-- Validation of an identical tree (same content hash, same validator set) is
-- reused instead of rebuilding.
CREATE TABLE validation_cache (
    tree_hash   text NOT NULL,
    validators  text NOT NULL,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tree_hash, validators)
);

-- +goose Down
DROP TABLE validation_cache;
DROP TABLE attempts;
ALTER TABLE work_orders DROP COLUMN pinned_variant_id;
ALTER TABLE work_orders DROP COLUMN job_id;
ALTER TABLE work_orders DROP COLUMN executions;
DROP TABLE routing_tiers;
