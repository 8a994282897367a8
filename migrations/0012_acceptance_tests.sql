-- +goose Up
-- Hidden acceptance tests of a work order (never shown to a proposer) and the
-- tests that must go from failing to passing or keep passing.
ALTER TABLE work_orders ADD COLUMN acceptance jsonb NOT NULL DEFAULT '{}';
-- The acceptance verdict of each cycle.
ALTER TABLE attempts ADD COLUMN acceptance jsonb;
-- A base commit's test outcomes, measured once per command set (owner:
-- server/internal/acceptance).
CREATE TABLE test_baselines (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    base_commit text NOT NULL,
    commands    text NOT NULL,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, base_commit, commands)
);

-- +goose Down
DROP TABLE test_baselines;
ALTER TABLE attempts DROP COLUMN acceptance;
ALTER TABLE work_orders DROP COLUMN acceptance;
