-- +goose Up
-- Issue 9: a program importing its history (ImportService). While its row
-- says importing, the scheduler does not close the program's periods and
-- ClosePeriod refuses; FinishImport clears it and the missed closes run.
-- No foreign key to programs: BeginImport may come before the program's
-- first PutRules, so that the scheduler never sees the program unheld.
-- last_at is the latest `at` imported (an imported event may not be
-- earlier), events how many were applied since BeginImport.
CREATE TABLE program_imports (
    program_id  TEXT PRIMARY KEY,
    importing   BOOLEAN NOT NULL,
    began_at    TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    last_at     TIMESTAMPTZ,
    events      BIGINT NOT NULL DEFAULT 0
);
GRANT SELECT, INSERT, UPDATE ON program_imports TO accrue_app;

-- +goose Down
DROP TABLE program_imports;
