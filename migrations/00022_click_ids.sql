-- +goose Up
-- The one-statement path of clicks reserves click ids ahead of writing
-- them (nextval on the identity's sequence), which needs USAGE on it.
GRANT USAGE ON SEQUENCE clicks_id_seq TO accrue_app;

-- +goose Down
REVOKE USAGE ON SEQUENCE clicks_id_seq FROM accrue_app;
