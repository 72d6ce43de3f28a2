package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func mkInstance(t *testing.T, s store.Store, tenantID, clusterID, name string) store.Instance {
	t.Helper()
	i := store.Instance{TenantID: tenantID, ClusterID: clusterID, Name: name, Driver: "process", Spec: []byte(`{"driver":"process"}`),
		Resources: store.Resources{CPU: 0.5, MemoryMiB: 64}, Desired: store.DesiredRunning, Status: store.StatusPending,
		Labels: map[string]string{"app": "web"}, Constraints: []string{"zone=a"}}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateInstance(ctx, &i) })
	return i
}

func testInstances(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Team")
	c := mkCluster(t, s, "default", "")
	h := mkHost(t, s, "node-1", c.ID, nil)
	web := mkInstance(t, s, tn.ID, c.ID, "web")
	mkInstance(t, s, tn.ID, c.ID, "api")
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		dup := store.Instance{TenantID: tn.ID, ClusterID: c.ID, Name: "web", Driver: "process", Spec: []byte("{}"),
			Desired: store.DesiredRunning, Status: store.StatusPending}
		return tx.CreateInstance(ctx, &dup)
	})
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "name")

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		i, err := tx.GetInstanceByName(ctx, tn.ID, "web")
		if err != nil {
			return err
		}
		code := 3
		i.HostID, i.Generation, i.Status, i.ExitCode, i.OOMKilled, i.Message = h.ID, 1, store.StatusFailed, &code, true, "boom"
		i.StartedAt = time.UnixMicro(time.Now().UnixMicro()).UTC()
		return tx.UpdateInstance(ctx, &i)
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		i, err := tx.GetInstance(ctx, web.ID)
		if err != nil {
			return err
		}
		equal(t, "host name", i.HostName, "node-1")
		equal(t, "tenant name", i.TenantName, "Team")
		equal(t, "exit code", *i.ExitCode, 3)
		equal(t, "oom", i.OOMKilled, true)
		equal(t, "label", i.Labels["app"], "web")
		equal(t, "constraint", i.Constraints[0], "zone=a")
		equal(t, "spec", string(i.Spec), `{"driver":"process"}`)
		placed, _, err := tx.ListInstances(ctx, store.InstanceFilter{HostID: h.ID})
		if err != nil {
			return err
		}
		equal(t, "placed on node-1", len(placed), 1)
		unplaced, _, err := tx.ListInstances(ctx, store.InstanceFilter{Unplaced: true})
		if err != nil {
			return err
		}
		equal(t, "unplaced", len(unplaced), 1)
		equal(t, "unplaced name", unplaced[0].Name, "api")
		page, next, err := tx.ListInstances(ctx, store.InstanceFilter{TenantID: tn.ID, Page: store.Page{Limit: 1}})
		if err != nil {
			return err
		}
		equal(t, "first page", page[0].Name, "api")
		page, _, err = tx.ListInstances(ctx, store.InstanceFilter{TenantID: tn.ID, Page: store.Page{Limit: 1, Token: next}})
		if err != nil {
			return err
		}
		equal(t, "second page", page[0].Name, "web")
		return nil
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteHost(ctx, h.ID) })
	wantIs(t, err, store.ErrInUse)

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AddInstanceEvents(ctx, []store.InstanceEvent{
			{InstanceID: web.ID, Type: "scheduled", HostID: h.ID, At: time.Now().Add(-time.Second)},
			{InstanceID: web.ID, Type: "running", HostID: h.ID, Message: "pid 42"},
		})
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		events, _, err := tx.ListInstanceEvents(ctx, web.ID, store.Page{})
		if err != nil {
			return err
		}
		equal(t, "events", len(events), 2)
		equal(t, "first event", events[0].Type, "scheduled")
		equal(t, "event host", events[1].HostName, "node-1")
		return nil
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteInstance(ctx, web.ID) })
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetInstance(ctx, web.ID)
		wantIs(t, err, store.ErrNotFound)
		events, _, err := tx.ListInstanceEvents(ctx, web.ID, store.Page{})
		equal(t, "events of a deleted instance", len(events), 0)
		return err
	})
}

func testAgents(t *testing.T, s store.Store) {
	c := mkCluster(t, s, "default", "")
	h := mkHost(t, s, "node-1", c.ID, nil)
	now := time.Now()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateJoinToken(ctx, &store.JoinToken{TokenHash: "hash-1", ClusterID: c.ID, Labels: map[string]string{"zone": "a"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		j, err := tx.UseJoinToken(ctx, "hash-1", h.ID, now)
		if err != nil {
			return err
		}
		equal(t, "token labels", j.Labels["zone"], "a")
		return nil
	})
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UseJoinToken(ctx, "hash-1", h.ID, now)
		return err
	})
	wantIs(t, err, store.ErrNotFound)

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetHostAgent(ctx, h.ID, store.HostAgent{CredentialHash: "cred", Key: "key", URL: "http://a", Drivers: "[]"}); err != nil {
			return err
		}
		rev, err := tx.BumpAssignRevision(ctx, h.ID)
		equal(t, "revision", rev, int64(1))
		return err
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetHostByCredential(ctx, "cred")
		if err != nil {
			return err
		}
		equal(t, "host by credential", got.Name, "node-1")
		equal(t, "agent url", got.AgentURL, "http://a")
		a, err := tx.GetHostAgent(ctx, h.ID)
		equal(t, "agent key", a.Key, "key")
		return err
	})
	lease := func(holder string, at time.Time) bool {
		var ok bool
		write(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			ok, err = tx.AcquireLease(ctx, "reconciler", holder, at, 5*time.Second)
			return err
		})
		return ok
	}
	equal(t, "first holder takes the lease", lease("a", now), true)
	equal(t, "second holder waits", lease("b", now.Add(time.Second)), false)
	equal(t, "holder renews", lease("a", now.Add(2*time.Second)), true)
	equal(t, "second holder takes an expired lease", lease("b", now.Add(8*time.Second)), true)
}

func testMetrics(t *testing.T, s store.Store) {
	base := time.Unix(1_800_000_000, 0).UTC() // on a 5-minute bound
	var samples []store.MetricSample
	for n := range 60 { // ten minutes, every 10 s
		samples = append(samples, store.MetricSample{ObjectID: "obj", Resolution: store.ResolutionRaw,
			At: base.Add(time.Duration(n) * 10 * time.Second), CPU: float64(n % 30), MemoryBytes: int64(1000 * (n / 30))})
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddSamples(ctx, samples) })
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RollupSamples(ctx, base, base.Add(10*time.Minute))
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		raw, err := tx.ListSamples(ctx, "obj", store.ResolutionRaw, base, base.Add(time.Minute))
		if err != nil {
			return err
		}
		equal(t, "raw samples in a minute", len(raw), 6)
		rolled, err := tx.ListSamples(ctx, "obj", store.ResolutionRollup, base, base.Add(time.Hour))
		if err != nil {
			return err
		}
		equal(t, "5-minute buckets", len(rolled), 2)
		equal(t, "average cpu", rolled[0].CPU, 14.5)
		equal(t, "average memory", rolled[1].MemoryBytes, int64(1000))
		latest, err := tx.LatestSamples(ctx, base)
		if err != nil {
			return err
		}
		equal(t, "latest", len(latest), 1)
		equal(t, "latest time", latest[0].At, base.Add(590*time.Second))
		return nil
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.PruneSamples(ctx, store.ResolutionRaw, base.Add(5*time.Minute))
		equal(t, "pruned", n, int64(30))
		return err
	})
}

func testPlacement(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Team")
	other := mkTenant(t, s, "Other")
	c := mkCluster(t, s, "default", "")
	h := mkHost(t, s, "node-1", c.ID, nil)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		cl, err := tx.GetCluster(ctx, c.ID)
		if err != nil {
			return err
		}
		equal(t, "default max starting", cl.MaxStarting, store.DefaultMaxStarting)
		cl.MaxStarting = 9
		if err := tx.UpdateCluster(ctx, &cl); err != nil {
			return err
		}
		host, err := tx.GetHost(ctx, h.ID)
		if err != nil {
			return err
		}
		equal(t, "no reservation", len(host.IsolatedTenants), 0)
		host.Zone, host.IsolatedTenants, host.IsolatedImages, host.DrainInstance = "b", []string{"Team"}, []string{"nginx:1"}, "x"
		return tx.UpdateHost(ctx, &host)
	})
	mk := func(tenantID, name, group string, priority int, ports []int) store.Instance {
		i := store.Instance{TenantID: tenantID, ClusterID: c.ID, Name: name, Driver: "docker", Spec: []byte(`{}`),
			Resources: store.Resources{CPU: 0.5, MemoryMiB: 64}, Desired: store.DesiredRunning, Status: store.StatusScheduled,
			Priority: priority, Group: group, GroupPolicy: store.GroupDifferentHost, Zone: "b", Image: "nginx:1",
			HostPorts: ports, HostID: h.ID}
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateInstance(ctx, &i) })
		return i
	}
	mk(tn.ID, "a", "web", 0, []int{80, 443})
	mk(tn.ID, "b", "web", 3, nil)
	mk(other.ID, "c", "web", 1, nil)
	mk(tn.ID, "d", "", 5, nil)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		cl, err := tx.GetCluster(ctx, c.ID)
		if err != nil {
			return err
		}
		equal(t, "max starting", cl.MaxStarting, 9)
		host, err := tx.GetHost(ctx, h.ID)
		if err != nil {
			return err
		}
		equal(t, "zone", host.Zone, "b")
		equal(t, "isolated tenant", host.IsolatedTenants[0], "Team")
		equal(t, "isolated image", host.IsolatedImages[0], "nginx:1")
		equal(t, "drain instance", host.DrainInstance, "x")
		counted := []store.Host{host}
		if err := tx.CountHostInstances(ctx, counted); err != nil {
			return err
		}
		equal(t, "instance count", counted[0].InstanceCount, 4)
		i, err := tx.GetInstanceByName(ctx, tn.ID, "a")
		if err != nil {
			return err
		}
		equal(t, "instance zone", i.Zone, "b")
		equal(t, "group", i.Group, "web")
		equal(t, "group policy", i.GroupPolicy, store.GroupDifferentHost)
		equal(t, "image", i.Image, "nginx:1")
		equal(t, "ports", len(i.HostPorts), 2)
		group, err := tx.ListPlaced(ctx, store.PlacedFilter{ClusterID: c.ID, TenantID: tn.ID, Group: "web"})
		if err != nil {
			return err
		}
		equal(t, "members of the tenant's group", len(group), 2)
		withPorts, err := tx.ListPlaced(ctx, store.PlacedFilter{ClusterID: c.ID, WithPorts: true})
		if err != nil {
			return err
		}
		equal(t, "instances with ports", len(withPorts), 1)
		equal(t, "their ports", withPorts[0].HostPorts[1], 443)
		equal(t, "their host", withPorts[0].HostID, h.ID)
		below, err := tx.ListPlaced(ctx, store.PlacedFilter{ClusterID: c.ID, BelowPriority: 3})
		if err != nil {
			return err
		}
		equal(t, "below priority 3", len(below), 2)
		return nil
	})
}
