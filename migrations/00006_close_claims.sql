-- +goose Up
-- A command that runs many transactions of its own (a period close) claims
-- its idempotency key before it works: the row is written with the request
-- hash and running = true, and the response is filled in (running = false)
-- when it is done. A second request with the key and another payload is
-- refused at once; with the same payload it resumes the command.
ALTER TABLE commands ADD COLUMN running BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE commands DROP COLUMN running;
