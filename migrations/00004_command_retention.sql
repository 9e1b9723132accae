-- +goose Up
-- Idempotency records are kept for a retention window (server.CommandRetention);
-- this index finds the old ones (00005 expires them instead of deleting).
CREATE INDEX commands_created ON commands (created_at);
GRANT DELETE ON commands TO accrue_app;

-- +goose Down
REVOKE DELETE ON commands FROM accrue_app;
DROP INDEX commands_created;
