-- +goose Up
-- The tests gate: a change to source code must add or change a test, unless
-- the work order waives it. Stored negated so that existing rows and the
-- column default keep requiring tests.
ALTER TABLE work_orders ADD COLUMN tests_optional boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE work_orders DROP COLUMN tests_optional;
