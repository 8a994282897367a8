-- +goose Up
-- A project's own test-strength threshold: the share of mutants its work
-- orders' tests must kill. NULL keeps moosed's default (0.6).
ALTER TABLE projects ADD COLUMN min_mutation_score double precision
    CHECK (min_mutation_score IS NULL OR (min_mutation_score >= 0 AND min_mutation_score <= 1));

-- +goose Down
ALTER TABLE projects DROP COLUMN min_mutation_score;
