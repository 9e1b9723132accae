-- +goose Up
-- The scheduler's minute at platform scale (thousands of programs).
--
-- It reads, in one statement, which programs have a statements tick due
-- or a schedule it has not computed under their latest rules, instead of
-- walking every program's schedule each minute. schedules remembers the
-- next tick after the cursor (NULL: none, the program has no rules or its
-- schedule never fires again) and the latest rules version it was
-- computed under (0: none; -1 for the rows from before, so each is
-- computed once).
ALTER TABLE schedules ADD COLUMN next_tick TIMESTAMPTZ;
ALTER TABLE schedules ADD COLUMN rules_seen INT NOT NULL DEFAULT -1;

-- It also reads which programs have rows left to seal, by probing each
-- program's first transaction after its last seal, as the sealer itself
-- reads its transactions (program, id order) and the verifier and
-- ListTransactions page them. No index served that order: a probe read
-- every transaction of the program (by the period index) or of every
-- later program (by id). No query reads transactions by period, so the
-- index on (program_id, id) takes its place: no more index writes a
-- posting than before.
CREATE INDEX transactions_program ON transactions (program_id, id);
DROP INDEX transactions_period;

-- +goose Down
CREATE INDEX transactions_period ON transactions (program_id, period);
DROP INDEX transactions_program;
ALTER TABLE schedules DROP COLUMN rules_seen;
ALTER TABLE schedules DROP COLUMN next_tick;
