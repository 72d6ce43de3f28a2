package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func clusterName(c store.Cluster) string { return c.Name }

func testClusters(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Team")
	other := mkTenant(t, s, "Elsewhere")
	def := mkCluster(t, s, "default", "")
	if def.CPUOvercommit != 1 || def.MemoryOvercommit != 1 || def.Strategy != store.StrategySpread {
		t.Errorf("cluster defaults: %+v", def)
	}
	mkCluster(t, s, "team-a", tn.ID)
	mkCluster(t, s, "hidden", other.ID)
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateCluster(ctx, &store.Cluster{Name: "default"})
	})
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "name")
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateCluster(ctx, &store.Cluster{Name: "orphan", OwnerTenantID: "missing"})
	})
	wantIs(t, err, store.ErrNotFound)

	mkHost(t, s, "node-1", def.ID, nil)
	h2 := mkHost(t, s, "node-2", def.ID, nil)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		h2.Usage = store.HostResources{CPU: 1.5, MemoryMiB: 512, DiskMiB: 10, NetworkMbps: 5}
		if err := tx.UpdateHost(ctx, &h2); err != nil {
			return err
		}
		c, err := tx.GetClusterByName(ctx, "default")
		if err != nil {
			return err
		}
		c.Description, c.CPUOvercommit, c.MemoryOvercommit, c.Strategy, c.Registry = "main", 2, 1.5, store.StrategyBinpack, "registry.local:5000/nimbus"
		return tx.UpdateCluster(ctx, &c)
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		c, err := tx.GetCluster(ctx, def.ID)
		if err != nil {
			return err
		}
		if c.Description != "main" || c.CPUOvercommit != 2 || c.MemoryOvercommit != 1.5 || c.Strategy != store.StrategyBinpack || c.Registry != "registry.local:5000/nimbus" {
			t.Errorf("after update: %+v", c)
		}
		equal(t, "host count before LoadClusterTotals", c.HostCount, 0)
		if err := tx.LoadClusterTotals(ctx, &c); err != nil {
			return err
		}
		equal(t, "host count", c.HostCount, 2)
		equal(t, "capacity", c.Capacity, store.HostResources{CPU: 16, MemoryMiB: 32768, DiskMiB: 204800, NetworkMbps: 2000})
		equal(t, "usage", c.Usage, store.HostResources{CPU: 1.5, MemoryMiB: 512, DiskMiB: 10, NetworkMbps: 5})
		all, _, err := tx.ListClusters(ctx, store.ClusterFilter{})
		equalList(t, "all clusters", names(all, clusterName), []string{"default", "hidden", "team-a"})
		if err != nil {
			return err
		}
		equal(t, "listed host count", all[0].HostCount, 2)
		scoped, _, err := tx.ListClusters(ctx, store.ClusterFilter{Scoped: true, TenantIDs: []string{tn.ID}})
		equalList(t, "clusters visible to Team", names(scoped, clusterName), []string{"default", "team-a"})
		if err != nil {
			return err
		}
		platform, _, err := tx.ListClusters(ctx, store.ClusterFilter{Scoped: true})
		equalList(t, "platform clusters", names(platform, clusterName), []string{"default"})
		return err
	})

	// Hosts and quotas block the delete.
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCluster(ctx, def.ID) })
	e := wantAs[*store.InUseError](t, err)
	equal(t, "reason", e.Reason, "it has 2 hosts")
	team, _ := clusterByName(t, s, "team-a")
	putQuota(t, s, tn.ID, team.ID, tier(0, 1, 1, 1, 1))
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCluster(ctx, team.ID) })
	equal(t, "reason", wantAs[*store.InUseError](t, err).Reason, "it has 1 quotas")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteQuota(ctx, tn.ID, team.ID); err != nil {
			return err
		}
		return tx.DeleteCluster(ctx, team.ID)
	})
	_, err = clusterByName(t, s, "team-a")
	wantIs(t, err, store.ErrNotFound)
}

func clusterByName(t *testing.T, s store.Store, name string) (c store.Cluster, err error) {
	err = s.Read(t.Context(), func(tx store.Tx) error {
		c, err = tx.GetClusterByName(t.Context(), name)
		return err
	})
	return c, err
}

func testHosts(t *testing.T, s store.Store) {
	c := mkCluster(t, s, "default", "")
	h := mkHost(t, s, "web-01", c.ID, map[string]string{"zone": "a", "gpu": ""})
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateHost(ctx, &store.Host{Name: "web-01", ClusterID: c.ID})
	})
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "name")
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateHost(ctx, &store.Host{Name: "web-99", ClusterID: "missing"})
	})
	wantIs(t, err, store.ErrNotFound)

	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetHostByName(ctx, "web-01")
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(h) {
			t.Errorf("GetHostByName = %+v, want %+v", got, h)
		}
		equal(t, "state", got.State, store.HostReady)
		return nil
	})
	beat := time.Now()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetHost(ctx, h.ID)
		if err != nil {
			return err
		}
		got.Address, got.State, got.OS, got.Arch, got.LastHeartbeatAt = "10.0.0.5:7070", store.HostCordoned, "linux", "amd64", beat
		if err := tx.UpdateHost(ctx, &got); err != nil {
			return err
		}
		return tx.UpdateHostLabels(ctx, h.ID, map[string]string{"zone": "b", "ssd": "true"}, []string{"gpu", "absent"}, time.Now())
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetHost(ctx, h.ID)
		if err != nil {
			return err
		}
		if got.Address != "10.0.0.5:7070" || got.State != store.HostCordoned || got.OS != "linux" || got.Arch != "amd64" ||
			!got.LastHeartbeatAt.Equal(beat.Truncate(time.Microsecond)) {
			t.Errorf("after update: %+v", got)
		}
		equal(t, "labels", fmt.Sprint(got.Labels), "map[ssd:true zone:b]")
		return nil
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateHostLabels(ctx, "missing", map[string]string{"a": "b"}, nil, time.Now())
	})
	wantIs(t, err, store.ErrNotFound)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteHost(ctx, h.ID) })
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteHost(ctx, h.ID) })
	wantIs(t, err, store.ErrNotFound)
}

func testHostLabelFilter(t *testing.T, s store.Store) {
	c1, c2 := mkCluster(t, s, "one", ""), mkCluster(t, s, "two", "")
	mkHost(t, s, "h-a1", c1.ID, map[string]string{"zone": "a", "gpu": "nvidia"})
	mkHost(t, s, "h-a2", c1.ID, map[string]string{"zone": "a"})
	mkHost(t, s, "h-b1", c1.ID, map[string]string{"zone": "b", "gpu": "amd", "ssd": ""})
	mkHost(t, s, "h-nl", c1.ID, nil)
	mkHost(t, s, "h-c1", c2.ID, map[string]string{"zone": "a", "gpu": "nvidia"})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		h, err := tx.GetHostByName(ctx, "h-a2")
		if err != nil {
			return err
		}
		h.State = store.HostDraining
		return tx.UpdateHost(ctx, &h)
	})
	for _, tc := range []struct {
		cluster, state string
		terms          string
		want           string
	}{
		{"", "", "", "h-a1 h-a2 h-b1 h-c1 h-nl"},
		{"one", "", "", "h-a1 h-a2 h-b1 h-nl"},
		{"", "", "zone=a", "h-a1 h-a2 h-c1"},
		{"", "", "zone!=a", "h-b1 h-nl"},
		{"", "", "gpu", "h-a1 h-b1 h-c1"},
		{"", "", "!gpu", "h-a2 h-nl"},
		{"", "", "ssd", "h-b1"},
		{"", "", "ssd=", "h-b1"},
		{"", "", "zone=a gpu=nvidia", "h-a1 h-c1"},
		{"one", "", "zone=a gpu=nvidia", "h-a1"},
		{"", "", "gpu gpu!=nvidia", "h-b1"},
		{"", "", "zone !gpu", "h-a2"},
		{"", "", "zone=a !gpu zone!=b", "h-a2"},
		{"", store.HostDraining, "zone=a", "h-a2"},
		{"", store.HostReady, "!gpu", "h-nl"},
		{"", "", "zone=c", ""},
		{"", "", "nope", ""},
		{"", "", "!nope", "h-a1 h-a2 h-b1 h-c1 h-nl"},
	} {
		f := store.HostFilter{State: tc.state}
		if tc.cluster != "" {
			f.ClusterID = map[string]string{"one": c1.ID, "two": c2.ID}[tc.cluster]
		}
		for _, word := range strings.Fields(tc.terms) {
			term, err := store.ParseLabelTerm(word)
			if err != nil {
				t.Fatal(err)
			}
			f.Labels = append(f.Labels, term)
		}
		read(t, s, func(ctx context.Context, tx store.Tx) error {
			hosts, _, err := tx.ListHosts(ctx, f)
			equal(t, fmt.Sprintf("hosts of cluster %q state %q labels %q", tc.cluster, tc.state, tc.terms),
				strings.Join(names(hosts, hostName), " "), tc.want)
			return err
		})
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		hosts, _, err := tx.ListHosts(ctx, store.HostFilter{ClusterID: c2.ID})
		if len(hosts) != 1 || fmt.Sprint(hosts[0].Labels) != "map[gpu:nvidia zone:a]" {
			t.Errorf("listed host labels: %+v", hosts)
		}
		return err
	})
	for _, tc := range []struct {
		clusters []string
		prefix   string
		want     string
	}{
		{[]string{c1.ID, c2.ID}, "", "h-a1 h-a2 h-b1 h-c1 h-nl"},
		{[]string{c2.ID}, "", "h-c1"},
		{[]string{}, "", ""},
		{nil, "h-a", "h-a1 h-a2"},
		{[]string{c2.ID}, "h-a", ""},
		{[]string{c1.ID, c2.ID}, "h-", "h-a1 h-a2 h-b1 h-c1 h-nl"},
	} {
		read(t, s, func(ctx context.Context, tx store.Tx) error {
			hosts, _, err := tx.ListHosts(ctx, store.HostFilter{ClusterIDs: tc.clusters, NamePrefix: tc.prefix})
			equal(t, fmt.Sprintf("hosts of %d clusters with prefix %q", len(tc.clusters), tc.prefix),
				strings.Join(names(hosts, hostName), " "), tc.want)
			return err
		})
	}
}
