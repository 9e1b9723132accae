-- +goose Up
-- A close's progress, in its periods row: written per batch inside the
-- batch's transaction, so it is exact and survives a crash.
ALTER TABLE periods ADD COLUMN started_at TIMESTAMPTZ;
ALTER TABLE periods ADD COLUMN partners_total INT NOT NULL DEFAULT 0;
ALTER TABLE periods ADD COLUMN partners_done INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE periods DROP COLUMN partners_done;
ALTER TABLE periods DROP COLUMN partners_total;
ALTER TABLE periods DROP COLUMN started_at;
