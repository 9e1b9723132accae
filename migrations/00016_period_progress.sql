-- +goose Up
-- A close's progress, one row per period in its own table: written per
-- batch inside the batch's transaction, so it is exact and survives a
-- crash. Not in the periods row, which the lease's heartbeat updates every
-- few seconds: at SERIALIZABLE (CockroachDB) a batch writing that row would
-- conflict with every renewal.
CREATE TABLE period_progress (
    program_id TEXT NOT NULL,
    period TEXT NOT NULL,
    holder TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    partners_total INT NOT NULL DEFAULT 0,
    partners_done INT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, period)
);
GRANT SELECT, INSERT, UPDATE ON period_progress TO accrue_app;

-- +goose Down
DROP TABLE period_progress;
