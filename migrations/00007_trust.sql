-- +goose Up
-- Issue 7, a journal an auditor can trust.
-- Least privilege: the application never updates an account (a balance is a
-- row of balances), so it may not change a code, normal side or currency.
REVOKE UPDATE ON accounts FROM accrue_app;

-- +goose Down
GRANT UPDATE ON accounts TO accrue_app;
