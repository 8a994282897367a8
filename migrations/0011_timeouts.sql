-- +goose Up
-- Time limits of the build step's commands and of the test command, per
-- project and per work order, in milliseconds; 0 means "not set here": a
-- work order's falls back to its project's, a project's to the server's
-- default.
ALTER TABLE projects ADD COLUMN build_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (build_timeout_ms >= 0),
                     ADD COLUMN test_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (test_timeout_ms >= 0);
ALTER TABLE work_orders ADD COLUMN build_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (build_timeout_ms >= 0),
                        ADD COLUMN test_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (test_timeout_ms >= 0);

-- +goose Down
ALTER TABLE work_orders DROP COLUMN build_timeout_ms, DROP COLUMN test_timeout_ms;
ALTER TABLE projects DROP COLUMN build_timeout_ms, DROP COLUMN test_timeout_ms;
