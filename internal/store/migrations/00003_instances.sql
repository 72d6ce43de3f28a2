-- +goose Up
-- Agents: a host's credential (hashed), the key the server presents to its
-- agent, where the agent listens, what its drivers can do, and a revision
-- raised whenever the host's assignments change (agents long-poll it).
ALTER TABLE hosts ADD COLUMN credential_hash TEXT;
ALTER TABLE hosts ADD COLUMN agent_key TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN agent_url TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN drivers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE hosts ADD COLUMN assign_rev BIGINT NOT NULL DEFAULT 0;
-- Until when the host's agent may run its instances without hearing from
-- the server again (the lease its last heartbeat was granted).
ALTER TABLE hosts ADD COLUMN lease_until BIGINT;
CREATE UNIQUE INDEX hosts_credential_hash ON hosts (credential_hash);

ALTER TABLE clusters ADD COLUMN heartbeat_timeout_ms BIGINT NOT NULL DEFAULT 15000;

-- Single-use tokens that let a machine join a cluster.
CREATE TABLE join_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    cluster_id  TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    labels      TEXT NOT NULL DEFAULT '{}',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    host_id     TEXT
);

CREATE TABLE instances (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    cluster_id    TEXT NOT NULL REFERENCES clusters (id),
    name          TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    labels        TEXT NOT NULL DEFAULT '{}',
    constraints   TEXT NOT NULL DEFAULT '[]',
    driver        TEXT NOT NULL,
    spec          TEXT NOT NULL,
    cpu           DOUBLE PRECISION NOT NULL,
    memory_mib    BIGINT NOT NULL,
    disk_mib      BIGINT NOT NULL,
    network_mbps  BIGINT NOT NULL,
    desired       TEXT NOT NULL,
    status        TEXT NOT NULL,
    host_id       TEXT REFERENCES hosts (id),
    generation    BIGINT NOT NULL DEFAULT 0,
    restart_seq   BIGINT NOT NULL DEFAULT 0,
    restarts      INTEGER NOT NULL DEFAULT 0,
    exit_code     INTEGER,
    oom_killed    BOOLEAN NOT NULL DEFAULT FALSE,
    message       TEXT NOT NULL DEFAULT '',
    started_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX instances_host_id ON instances (host_id);
CREATE INDEX instances_cluster_status ON instances (cluster_id, status);

CREATE TABLE instance_events (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    type        TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    host_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX instance_events_instance ON instance_events (instance_id, at, id);

-- Resource samples of hosts and instances: resolution 10 (raw, 24 h) and
-- 300 (5-minute averages, 7 days).
CREATE TABLE metric_samples (
    object_id    TEXT NOT NULL,
    resolution   INTEGER NOT NULL,
    at           BIGINT NOT NULL,
    cpu          DOUBLE PRECISION NOT NULL,
    memory_bytes BIGINT NOT NULL,
    PRIMARY KEY (object_id, resolution, at)
);
CREATE INDEX metric_samples_resolution_at ON metric_samples (resolution, at);

-- Leases elect one server to run the reconcilers.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE metric_samples;
DROP TABLE instance_events;
DROP TABLE instances;
DROP TABLE join_tokens;
ALTER TABLE clusters DROP COLUMN heartbeat_timeout_ms;
DROP INDEX hosts_credential_hash;
ALTER TABLE hosts DROP COLUMN lease_until;
ALTER TABLE hosts DROP COLUMN assign_rev;
ALTER TABLE hosts DROP COLUMN drivers;
ALTER TABLE hosts DROP COLUMN agent_url;
ALTER TABLE hosts DROP COLUMN agent_key;
ALTER TABLE hosts DROP COLUMN credential_hash;
