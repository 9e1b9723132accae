-- +goose Up
-- The application runs as accrue_app (the server SETs ROLE on every
-- connection; the role itself is created by migrations.EnsureRole, since
-- roles are cluster-wide). Journal, statements and event history are
-- append-only for it: UPDATE and DELETE are refused by the database.
GRANT SELECT, INSERT ON transactions, entries, seals, statements, order_events, rule_versions, clicks TO accrue_app;
GRANT SELECT, INSERT, UPDATE ON programs, accounts, balances, commands, partners, partner_links,
    customer_visitors, orders, periods, payouts, spends TO accrue_app;

-- +goose Down
REVOKE ALL ON transactions, entries, seals, statements, order_events, rule_versions, clicks,
    programs, accounts, balances, commands, partners, partner_links, customer_visitors,
    orders, periods, payouts, spends FROM accrue_app;
