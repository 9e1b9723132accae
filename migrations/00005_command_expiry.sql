-- +goose Up
-- Idempotency records expire instead of disappearing: after the retention
-- window the response body is dropped and the key marked expired, so a late
-- retry is refused rather than run a second time. Keyset paging indexes for
-- statements and payouts listed across partners.
ALTER TABLE commands ADD COLUMN expired BOOLEAN NOT NULL DEFAULT false;
REVOKE DELETE ON commands FROM accrue_app;
CREATE INDEX statements_period ON statements (program_id, period, partner_id);
CREATE INDEX payouts_created ON payouts (program_id, created_at, id);

-- +goose Down
DROP INDEX payouts_created;
DROP INDEX statements_period;
GRANT DELETE ON commands TO accrue_app;
ALTER TABLE commands DROP COLUMN expired;
