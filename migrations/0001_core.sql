-- +goose Up
CREATE TABLE projects (
    id              uuid PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    repo_url        text NOT NULL,
    default_branch  text NOT NULL,
    language        text NOT NULL,
    preset          text NOT NULL DEFAULT '',
    build_command   text NOT NULL DEFAULT '',
    test_command    text NOT NULL DEFAULT '',
    typecheck_command text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_orders (
    id                  uuid PRIMARY KEY,
    project_id          uuid NOT NULL REFERENCES projects (id),
    request_id          text,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    acceptance_criteria jsonb NOT NULL DEFAULT '[]',
    complexity          integer NOT NULL CHECK (complexity BETWEEN 1 AND 10),
    status              text NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    variant_id          text,
    result              jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX work_orders_request_id ON work_orders (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX work_orders_page ON work_orders (created_at, id);
CREATE INDEX work_orders_project_status ON work_orders (project_id, status);

CREATE TABLE work_order_events (
    id             bigserial PRIMARY KEY,
    work_order_id  uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    type           text NOT NULL,
    from_status    text NOT NULL DEFAULT '',
    to_status      text NOT NULL DEFAULT '',
    phase          text NOT NULL DEFAULT '',
    message        text NOT NULL DEFAULT '',
    data           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_events_wo ON work_order_events (work_order_id, id);

-- +goose Down
DROP TABLE work_order_events;
DROP TABLE work_orders;
DROP TABLE projects;
