-- +goose Up
-- The scheduler: a cluster's boot-storm limit; a host's availability zone
-- and its reservation for some tenants or images; an instance's zone, its
-- instance group with the group's policy, and the host ports it maps (so
-- two instances on one host never map the same port).
ALTER TABLE clusters ADD COLUMN max_starting INTEGER NOT NULL DEFAULT 4;

ALTER TABLE hosts ADD COLUMN zone TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN isolated_tenants TEXT NOT NULL DEFAULT '[]';
ALTER TABLE hosts ADD COLUMN isolated_images TEXT NOT NULL DEFAULT '[]';
-- The instance a drain moved last; the next moves once it runs elsewhere.
ALTER TABLE hosts ADD COLUMN drain_instance TEXT NOT NULL DEFAULT '';

ALTER TABLE instances ADD COLUMN zone TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN group_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN image TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN host_ports TEXT NOT NULL DEFAULT '[]';
-- The host's assignment revision at which the instance's assignment last
-- changed: agents fetch only what changed since the revision they hold.
ALTER TABLE instances ADD COLUMN assign_rev BIGINT NOT NULL DEFAULT 0;
CREATE INDEX instances_group ON instances (tenant_id, group_name);
-- What an agent's long poll reads, from the index alone.
CREATE INDEX instances_host_assign ON instances (host_id, id, generation, assign_rev);
CREATE INDEX instances_cluster_priority ON instances (cluster_id, priority);

-- +goose Down
DROP INDEX instances_cluster_priority;
DROP INDEX instances_host_assign;
DROP INDEX instances_group;
ALTER TABLE instances DROP COLUMN assign_rev;
ALTER TABLE instances DROP COLUMN host_ports;
ALTER TABLE instances DROP COLUMN image;
ALTER TABLE instances DROP COLUMN group_policy;
ALTER TABLE instances DROP COLUMN group_name;
ALTER TABLE instances DROP COLUMN zone;
ALTER TABLE hosts DROP COLUMN drain_instance;
ALTER TABLE hosts DROP COLUMN isolated_images;
ALTER TABLE hosts DROP COLUMN isolated_tenants;
ALTER TABLE hosts DROP COLUMN zone;
ALTER TABLE clusters DROP COLUMN max_starting;
