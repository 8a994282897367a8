-- +goose Up
-- Node liveness: one row per executing moosed, renewed by its heartbeat.
-- A node whose lease_until has passed is dead: its running jobs are re-queued
-- for the others and its row is removed. epoch grows with every start of the
-- same node id, so an old incarnation (frozen, then resumed) cannot renew.
-- Owner: package server/internal/node.
CREATE TABLE nodes (
    id           text PRIMARY KEY,
    epoch        bigint      NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE nodes;
