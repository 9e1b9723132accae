-- +goose Up
-- Expiry (store.ExpireCommands) reads the records not expired yet, oldest
-- first. The index on created_at alone held every expired record too, so
-- each run walked all of them, reading each one's row for `expired`,
-- before it reached one to expire: a run cost more with every key ever
-- recorded. This partial index holds only the records left to expire; a
-- record leaves it when it expires.
CREATE INDEX commands_unexpired ON commands (created_at) WHERE NOT expired;
DROP INDEX commands_created;

-- +goose Down
CREATE INDEX commands_created ON commands (created_at);
DROP INDEX commands_unexpired;
