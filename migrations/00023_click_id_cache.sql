-- +goose Up
-- Click ids are reserved in blocks (store.ReserveClickIDs); each
-- connection caches 512 values of the sequence, so reserving a block
-- neither locks the sequence's page nor logs it for every id. Ids stay
-- unique; across connections they are no longer handed out in order,
-- which they were not already (blocks are reserved ahead of their use).
ALTER TABLE clicks ALTER COLUMN id SET CACHE 512;

-- +goose Down
ALTER TABLE clicks ALTER COLUMN id SET CACHE 1;
