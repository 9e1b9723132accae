-- +goose Up
-- A batch finds the rules version in force at each order's time by one
-- probe of this index, and the program's first version by its first
-- entry, instead of sorting every version of the program for each order.
CREATE INDEX rule_versions_effective ON rule_versions (program_id, effective_at, version);

-- +goose Down
DROP INDEX rule_versions_effective;
