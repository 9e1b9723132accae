-- +goose Up
-- Issue 9: as-of balances by snapshot (ledger/snapshot.go, docs/journal.md
-- "As-of reads"). Derived data only: every row here can be rebuilt from
-- entries (TRUNCATE the four tables, put the cut back to the start, and let
-- ledger.Snapshot fold the journal again).

-- The cut: every entry with an id at or below cut_id is folded into the
-- buckets of its (enrolled) account, except the ids in snapshot_holes.
-- Entry ids start at 1; a row forged under id 0 or below is never folded
-- (ledger.Verify reports it, its snapshot check included).
CREATE TABLE snapshot_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    cut_id    BIGINT NOT NULL
);
INSERT INTO snapshot_state (cut_id) VALUES (0);

-- Id ranges at or below the cut that were not visible when the cut passed
-- them: entries of transactions still in flight (or rolled back). Each run
-- folds what became visible and keeps the rest, until seen_at is older than
-- ledger.SealLag (then they are taken as rolled back).
CREATE TABLE snapshot_holes (
    lo      BIGINT PRIMARY KEY,
    hi      BIGINT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL
);

-- Accounts with enough entries to be worth snapshotting
-- (ledger.SnapshotMinEntries); the others sum their entries.
CREATE TABLE snapshot_accounts (
    account_id BIGINT PRIMARY KEY,
    enrolled_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Sums of an account's folded entries per time bucket at several levels
-- (level k's buckets are ledger.snapshotLevels[k] seconds wide, aligned on
-- the Unix epoch, each nested in one bucket of the level above).
CREATE TABLE snapshot_buckets (
    account_id BIGINT NOT NULL,
    level      SMALLINT NOT NULL,
    bucket     BIGINT NOT NULL,
    amount     NUMERIC NOT NULL,
    entries    BIGINT NOT NULL,
    PRIMARY KEY (account_id, level, bucket)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON snapshot_state, snapshot_holes, snapshot_accounts, snapshot_buckets TO accrue_app;

-- +goose Down
REVOKE ALL ON snapshot_state, snapshot_holes, snapshot_accounts, snapshot_buckets FROM accrue_app;
DROP TABLE snapshot_buckets;
DROP TABLE snapshot_accounts;
DROP TABLE snapshot_holes;
DROP TABLE snapshot_state;
