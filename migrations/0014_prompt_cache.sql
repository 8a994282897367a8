-- +goose Up
-- Prompt caching. An attempt records how many of its input tokens the
-- provider read from its prompt cache and how many it wrote to it (both are
-- part of input_tokens), so that they are costed at their own rates and the
-- cost stays explainable. A variant may price them; 0 derives the price from
-- its input price.
ALTER TABLE attempts ADD COLUMN cache_read_input_tokens bigint NOT NULL DEFAULT 0,
                     ADD COLUMN cache_write_input_tokens bigint NOT NULL DEFAULT 0;
ALTER TABLE variants ADD COLUMN cache_read_price_per_mtok double precision NOT NULL DEFAULT 0,
                     ADD COLUMN cache_write_price_per_mtok double precision NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE attempts DROP COLUMN cache_read_input_tokens, DROP COLUMN cache_write_input_tokens;
ALTER TABLE variants DROP COLUMN cache_read_price_per_mtok, DROP COLUMN cache_write_price_per_mtok;
