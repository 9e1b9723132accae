-- +goose Up
-- Most transactions reverse nothing, and releases, payouts and spends name
-- no order: their index entries were NULLs that no query reads (the
-- reversal index only enforces "reversed once"; the order index is read
-- by refs ->> 'order' = …, which implies the order is not null). Partial
-- indexes skip those entries: one index insert fewer for every posting,
-- two for a release.
CREATE UNIQUE INDEX transactions_reverses_partial ON transactions (reverses_id) WHERE reverses_id IS NOT NULL;
DROP INDEX transactions_reverses;
ALTER INDEX transactions_reverses_partial RENAME TO transactions_reverses;
CREATE INDEX transactions_order_partial ON transactions (program_id, (refs ->> 'order')) WHERE (refs ->> 'order') IS NOT NULL;
DROP INDEX transactions_order;
ALTER INDEX transactions_order_partial RENAME TO transactions_order;

-- +goose Down
CREATE UNIQUE INDEX transactions_reverses_full ON transactions (reverses_id);
DROP INDEX transactions_reverses;
ALTER INDEX transactions_reverses_full RENAME TO transactions_reverses;
CREATE INDEX transactions_order_full ON transactions (program_id, (refs ->> 'order'));
DROP INDEX transactions_order;
ALTER INDEX transactions_order_full RENAME TO transactions_order;
