-- +goose Up
-- One counter, raised by every change that can withdraw access (a revoked
-- token or key, a changed role, user or group). Servers cache resolved
-- credentials and trust the cache only while the counter stands still.
CREATE TABLE auth_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, epoch) VALUES (1, 0);

-- +goose Down
DROP TABLE auth_epoch;
