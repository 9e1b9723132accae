-- +goose Up
-- Referral codes are unique and matched case-insensitively (SPEC §5): BOB and
-- bob are one code. The code is stored as the partner gave it, for display;
-- this index holds its case-folded form, and lookups match on lower(code).
-- Codes are URL-safe ASCII, so lower() folds them the same way everywhere.
CREATE UNIQUE INDEX partners_code_lower ON partners (program_id, lower(code));

-- +goose Down
DROP INDEX partners_code_lower;
