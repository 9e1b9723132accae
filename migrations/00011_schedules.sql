-- +goose Up
-- Issue 8: the scheduler's state moves out of the journal's programs table.
-- schedules holds, per program, the last statements-schedule tick the
-- scheduler handled (it resumes after it). A program without a row has
-- handled none: its cursor is its creation time. programs.schedule_cursor
-- is copied here and no longer written (NOT NULL is dropped so new
-- programs leave it empty); it stays for a rolling deploy and can be
-- dropped later.
CREATE TABLE schedules (
    program_id        TEXT PRIMARY KEY REFERENCES programs (id),
    statements_cursor TIMESTAMPTZ NOT NULL
);
INSERT INTO schedules (program_id, statements_cursor)
    SELECT id, schedule_cursor FROM programs WHERE schedule_cursor IS NOT NULL;
ALTER TABLE programs ALTER COLUMN schedule_cursor DROP NOT NULL;
GRANT SELECT, INSERT, UPDATE ON schedules TO accrue_app;

-- +goose Down
UPDATE programs p SET schedule_cursor = s.statements_cursor FROM schedules s WHERE s.program_id = p.id;
UPDATE programs SET schedule_cursor = created_at WHERE schedule_cursor IS NULL;
ALTER TABLE programs ALTER COLUMN schedule_cursor SET NOT NULL;
DROP TABLE schedules;
