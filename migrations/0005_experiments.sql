-- +goose Up
-- A/B experiments between a routing tier's baseline variant and a candidate.
-- config is the decision rule's parameters (experiment.Config as JSON);
-- decision is the Decision (with every number behind it) that ended the
-- experiment, or for a manual action the look taken at that moment.
CREATE TABLE experiments (
    id                   uuid PRIMARY KEY,
    tier                 text NOT NULL REFERENCES routing_tiers (name),
    baseline_variant_id  uuid NOT NULL REFERENCES variants (id),
    candidate_variant_id uuid NOT NULL REFERENCES variants (id),
    candidate_share      double precision NOT NULL CHECK (candidate_share > 0 AND candidate_share <= 1),
    shadow               boolean NOT NULL DEFAULT false,
    config               jsonb NOT NULL,
    status               text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'promoted', 'rolled_back', 'inconclusive', 'stopped')),
    started_by           text NOT NULL DEFAULT '',
    started_at           timestamptz NOT NULL,
    -- Looks taken, and the running minimum of the always-valid p-values over
    -- them: only the minimum may be reported.
    looks                integer NOT NULL DEFAULT 0,
    score_diff_p_min     double precision NOT NULL DEFAULT 1,
    pass_diff_p_min      double precision NOT NULL DEFAULT 1,
    outcome              text NOT NULL DEFAULT '',
    reason               text NOT NULL DEFAULT '',
    decided_by           text NOT NULL DEFAULT '',
    decided_at           timestamptz,
    decision             jsonb,
    ended_at             timestamptz,
    CHECK (baseline_variant_id <> candidate_variant_id)
);
-- At most one running experiment per tier.
CREATE UNIQUE INDEX experiments_one_running_per_tier ON experiments (tier) WHERE status = 'running';
CREATE INDEX experiments_started ON experiments (started_at DESC, id);

-- The arm a work order was given, recorded once: a retry reuses it.
CREATE TABLE experiment_assignments (
    work_order_id  uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    arm            text NOT NULL CHECK (arm IN ('baseline', 'candidate')),
    variant_id     uuid NOT NULL,
    shadow         boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (work_order_id, experiment_id)
);
CREATE INDEX experiment_assignments_experiment ON experiment_assignments (experiment_id);

-- One finished work order per experiment and arm. The first outcome counts;
-- a retry or re-run only increments repeats (see package experiment).
CREATE TABLE experiment_observations (
    seq            bigserial,
    experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    work_order_id  uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    arm            text NOT NULL CHECK (arm IN ('baseline', 'candidate')),
    variant_id     uuid NOT NULL,
    shadow         boolean NOT NULL DEFAULT false,
    score          double precision NOT NULL,
    passed         boolean NOT NULL,
    cost_usd       double precision NOT NULL DEFAULT 0,
    crashed        boolean NOT NULL DEFAULT false,
    repeats        integer NOT NULL DEFAULT 0,
    finished_at    timestamptz NOT NULL,
    PRIMARY KEY (experiment_id, work_order_id, arm)
);
CREATE INDEX experiment_observations_order ON experiment_observations (experiment_id, finished_at, seq);

-- Audit trail: start, every final decision, every manual action.
CREATE TABLE experiment_events (
    id             bigserial PRIMARY KEY,
    experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    type           text NOT NULL,
    actor          text NOT NULL DEFAULT '',
    message        text NOT NULL DEFAULT '',
    data           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiment_events_experiment ON experiment_events (experiment_id, id);

-- +goose Down
DROP TABLE experiment_events;
DROP TABLE experiment_observations;
DROP TABLE experiment_assignments;
DROP TABLE experiments;
