-- +goose Up
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    email          TEXT NOT NULL DEFAULT '',
    display_name   TEXT NOT NULL DEFAULT '',
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    platform_admin BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    admin_email   TEXT NOT NULL DEFAULT '',
    owner_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX tenants_owner_user_id ON tenants (owner_user_id);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_id ON group_members (user_id);

CREATE TABLE user_roles (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX user_roles_user_id ON user_roles (user_id);

CREATE TABLE group_roles (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
CREATE INDEX group_roles_group_id ON group_roles (group_id);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source_ip  TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tokens_user_id ON tokens (user_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    app_key     TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    permissions TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, app_key);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE login_failures (
    username     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    locks        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE clusters (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL DEFAULT '',
    owner_tenant_id   TEXT REFERENCES tenants (id),
    cpu_overcommit    DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    memory_overcommit DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    strategy          TEXT NOT NULL DEFAULT 'spread',
    registry          TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX clusters_owner_tenant_id ON clusters (owner_tenant_id);

CREATE TABLE hosts (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    cluster_id        TEXT NOT NULL REFERENCES clusters (id),
    address           TEXT NOT NULL DEFAULT '',
    cap_cpu           DOUBLE PRECISION NOT NULL DEFAULT 0,
    cap_memory_mib    BIGINT NOT NULL DEFAULT 0,
    cap_disk_mib      BIGINT NOT NULL DEFAULT 0,
    cap_network_mbps  BIGINT NOT NULL DEFAULT 0,
    used_cpu          DOUBLE PRECISION NOT NULL DEFAULT 0,
    used_memory_mib   BIGINT NOT NULL DEFAULT 0,
    used_disk_mib     BIGINT NOT NULL DEFAULT 0,
    used_network_mbps BIGINT NOT NULL DEFAULT 0,
    state             TEXT NOT NULL DEFAULT 'ready',
    os                TEXT NOT NULL DEFAULT '',
    arch              TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_heartbeat_at BIGINT
);
CREATE INDEX hosts_cluster_id ON hosts (cluster_id, name);

CREATE TABLE host_labels (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
CREATE INDEX host_labels_name_value ON host_labels (name, value);

CREATE TABLE quotas (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, cluster_id)
);
CREATE INDEX quotas_cluster_id ON quotas (cluster_id);

CREATE TABLE quota_tiers (
    quota_id           TEXT NOT NULL REFERENCES quotas (id) ON DELETE CASCADE,
    priority           INTEGER NOT NULL,
    limit_cpu          DOUBLE PRECISION NOT NULL,
    limit_memory_mib   BIGINT NOT NULL,
    limit_storage_mib  BIGINT NOT NULL,
    limit_network_mbps BIGINT NOT NULL,
    used_cpu           DOUBLE PRECISION NOT NULL DEFAULT 0,
    used_memory_mib    BIGINT NOT NULL DEFAULT 0,
    used_storage_mib   BIGINT NOT NULL DEFAULT 0,
    used_network_mbps  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (quota_id, priority)
);

CREATE TABLE quota_allocations (
    id           TEXT PRIMARY KEY,
    quota_id     TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    owner_kind   TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    cpu          DOUBLE PRECISION NOT NULL,
    memory_mib   BIGINT NOT NULL,
    storage_mib  BIGINT NOT NULL,
    network_mbps BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    FOREIGN KEY (quota_id, priority) REFERENCES quota_tiers (quota_id, priority)
);
CREATE INDEX quota_allocations_owner ON quota_allocations (owner_kind, owner_id);
CREATE INDEX quota_allocations_tier ON quota_allocations (quota_id, priority);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    occurred_at   BIGINT NOT NULL,
    actor_user_id TEXT NOT NULL DEFAULT '',
    actor_name    TEXT NOT NULL DEFAULT '',
    api_key       TEXT NOT NULL DEFAULT '',
    tenant_id     TEXT,
    tenant_name   TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    object_type   TEXT NOT NULL DEFAULT '',
    object_name   TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL,
    error_code    TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    source_ip     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (occurred_at, id);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, occurred_at, id);
CREATE INDEX audit_log_actor_time ON audit_log (actor_name, occurred_at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE quota_allocations;
DROP TABLE quota_tiers;
DROP TABLE quotas;
DROP TABLE host_labels;
DROP TABLE hosts;
DROP TABLE clusters;
DROP TABLE login_failures;
DROP TABLE api_keys;
DROP TABLE tokens;
DROP TABLE group_roles;
DROP TABLE user_roles;
DROP TABLE group_members;
DROP TABLE user_groups;
DROP TABLE tenants;
DROP TABLE users;
