-- +goose Up
-- A project's warm-up: its default branch's tests run once when it is
-- registered, filling its build cache and storing the base commit's
-- baseline before the first work order needs them. warm_state is '' (none
-- asked for), 'pending', 'running', 'ready' or 'failed'; warm_message says
-- what happened.
ALTER TABLE projects ADD COLUMN warm_state text NOT NULL DEFAULT ''
                         CHECK (warm_state IN ('', 'pending', 'running', 'ready', 'failed')),
                     ADD COLUMN warm_message text NOT NULL DEFAULT '',
                     ADD COLUMN warmed_at timestamptz;

-- +goose Down
ALTER TABLE projects DROP COLUMN warm_state, DROP COLUMN warm_message, DROP COLUMN warmed_at;
