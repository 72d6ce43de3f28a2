package server

import (
	"context"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// Cluster defaults for fields a create leaves out.
const (
	defaultOvercommit = 1.0
	defaultStrategy   = store.StrategySpread
)

// clusterFor loads the cluster named name for an action that needs perm
// (PermClusterRead, PermClusterWrite or PermHostWrite) in its owning tenant.
func clusterFor(ctx context.Context, tx store.Tx, name, perm string) (store.Cluster, error) {
	c, err := tx.GetClusterByName(ctx, name)
	if err != nil {
		return c, wrapNotFound(err, "cluster", name)
	}
	return c, checkCluster(principalFrom(ctx), c, perm)
}

// checkCluster decides whether p may act on c with perm. Platform clusters
// are visible to every caller and changed by platform admins only. A
// tenant's cluster is invisible (404) to those who cannot read the tenant,
// and needs perm in that tenant.
func checkCluster(p *Principal, c store.Cluster, perm string) error {
	if c.OwnerTenantID == "" {
		if perm == PermClusterRead || p.isPlatformAdmin() {
			return nil
		}
		return problem.Forbidden("only a platform admin may do this on platform cluster %q", c.Name)
	}
	if !p.canRead(c.OwnerTenantID) {
		return problem.NotFound("cluster", c.Name)
	}
	if !p.can(c.OwnerTenantID, perm) {
		return problem.Forbidden("your role in the tenant owning cluster %q does not allow %s", c.Name, perm)
	}
	return nil
}

// clusterChange fills in the audit tenant of a change to cluster c.
func clusterChange(ctx context.Context, l *lookup, ch *change, c store.Cluster) error {
	name, err := l.tenantName(ctx, c.OwnerTenantID)
	if err != nil {
		return err
	}
	ch.tenantID, ch.tenantName = c.OwnerTenantID, name
	return nil
}

// ListClusters lists the platform clusters and the clusters of tenants
// where the caller may read clusters.
func (h handlers) ListClusters(ctx context.Context, req api.ListClustersRequestObject) (api.ListClustersResponseObject, error) {
	p := principalFrom(ctx)
	f := store.ClusterFilter{NamePrefix: deref(req.Params.NamePrefix), Page: page(req.Params.Limit, req.Params.PageToken)}
	if ids, all := p.visibleTenants(); !all {
		f.Scoped = true
		f.TenantIDs = []string{}
		for _, id := range ids {
			if p.can(id, PermClusterRead) {
				f.TenantIDs = append(f.TenantIDs, id)
			}
		}
	}
	out := api.ClusterList{Items: []api.Cluster{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		clusters, next, err := tx.ListClusters(ctx, f)
		if err != nil {
			return pageErr(err)
		}
		l := newLookup(tx)
		for _, c := range clusters {
			ac, err := l.clusterAPI(ctx, c)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, ac)
		}
		out.NextPageToken = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListClusters200JSONResponse(out), nil
}

// CreateCluster creates a platform cluster (platform admins) or a cluster
// owned by a group tenant (that tenant's admins). Personal tenants own no
// clusters: cluster and host names are platform-wide, not for every user to
// take.
func (h handlers) CreateCluster(ctx context.Context, req api.CreateClusterRequestObject) (api.CreateClusterResponseObject, error) {
	in := req.Body
	c := store.Cluster{
		Name:             in.Name,
		Description:      deref(in.Description),
		CPUOvercommit:    defaultOvercommit,
		MemoryOvercommit: defaultOvercommit,
		Strategy:         defaultStrategy,
		Registry:         deref(in.Registry),
	}
	if in.CPUOvercommit != nil {
		c.CPUOvercommit = *in.CPUOvercommit
	}
	if in.MemoryOvercommit != nil {
		c.MemoryOvercommit = *in.MemoryOvercommit
	}
	if in.Strategy != nil {
		c.Strategy = string(*in.Strategy)
	}
	if in.HeartbeatTimeoutSeconds != nil {
		c.HeartbeatTimeout = time.Duration(*in.HeartbeatTimeoutSeconds) * time.Second
	}
	c.MaxStarting = deref(in.MaxStartingPerHost)
	v := validate.New()
	v.TenantName("name", c.Name)
	validateCluster(v, c)
	if err := v.Err(); err != nil {
		return nil, err
	}

	ch := &change{action: "cluster.create", objectType: "cluster", objectName: c.Name}
	var owner string
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		if in.OwnerTenant != nil {
			t, err := tenantFor(ctx, tx, *in.OwnerTenant, PermClusterWrite)
			if err != nil {
				return err
			}
			if t.Kind == store.TenantPersonal {
				return problem.Invalid("owner_tenant", "%q is a personal tenant; clusters belong to the platform or to a group tenant", t.Name)
			}
			c.OwnerTenantID, owner = t.ID, t.Name
			ch.tenantID, ch.tenantName = t.ID, t.Name
		} else if err := requirePlatformAdmin(ctx); err != nil {
			return err
		}
		now := h.now()
		c.CreatedAt, c.UpdatedAt = now, now
		return tx.CreateCluster(ctx, &c)
	})
	if err != nil {
		return nil, err
	}
	return api.CreateCluster201JSONResponse(clusterToAPI(c, owner)), nil
}

// validateCluster checks the settable fields of c. A registry may be empty.
func validateCluster(v *validate.Validator, c store.Cluster) {
	v.Description("description", c.Description)
	v.Overcommit("cpu_overcommit", c.CPUOvercommit)
	v.Overcommit("memory_overcommit", c.MemoryOvercommit)
	v.Strategy("strategy", c.Strategy)
	if c.Registry != "" {
		v.RegistryAddress("registry", c.Registry)
	}
}

// GetCluster returns a cluster with its host count and resource totals.
func (h handlers) GetCluster(ctx context.Context, req api.GetClusterRequestObject) (api.GetClusterResponseObject, error) {
	var out api.Cluster
	err := h.store.Read(ctx, func(tx store.Tx) error {
		c, err := clusterFor(ctx, tx, req.Name, PermClusterRead)
		if err != nil {
			return err
		}
		if err := tx.LoadClusterTotals(ctx, &c); err != nil {
			return err
		}
		out, err = newLookup(tx).clusterAPI(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetCluster200JSONResponse(out), nil
}

// UpdateCluster changes a cluster's description, overcommit ratios,
// strategy or registry.
func (h handlers) UpdateCluster(ctx context.Context, req api.UpdateClusterRequestObject) (api.UpdateClusterResponseObject, error) {
	in := req.Body
	v := validate.New()
	if in.Description != nil {
		v.Description("description", *in.Description)
	}
	if in.CPUOvercommit != nil {
		v.Overcommit("cpu_overcommit", *in.CPUOvercommit)
	}
	if in.MemoryOvercommit != nil {
		v.Overcommit("memory_overcommit", *in.MemoryOvercommit)
	}
	if in.Strategy != nil {
		v.Strategy("strategy", string(*in.Strategy))
	}
	if in.Registry != nil && *in.Registry != "" {
		v.RegistryAddress("registry", *in.Registry)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ch := &change{action: "cluster.update", objectType: "cluster", objectName: req.Name}
	var out api.Cluster
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		c, err := clusterFor(ctx, tx, req.Name, PermClusterWrite)
		if err != nil {
			return err
		}
		l := newLookup(tx)
		if err := clusterChange(ctx, l, ch, c); err != nil {
			return err
		}
		if in.Description != nil {
			c.Description = *in.Description
		}
		if in.CPUOvercommit != nil {
			c.CPUOvercommit = *in.CPUOvercommit
		}
		if in.MemoryOvercommit != nil {
			c.MemoryOvercommit = *in.MemoryOvercommit
		}
		if in.Strategy != nil {
			c.Strategy = string(*in.Strategy)
		}
		if in.Registry != nil {
			c.Registry = *in.Registry
		}
		if in.HeartbeatTimeoutSeconds != nil {
			c.HeartbeatTimeout = time.Duration(*in.HeartbeatTimeoutSeconds) * time.Second
		}
		if in.MaxStartingPerHost != nil {
			c.MaxStarting = *in.MaxStartingPerHost
		}
		if err := tx.UpdateCluster(ctx, &c); err != nil {
			return err
		}
		if err := tx.LoadClusterTotals(ctx, &c); err != nil {
			return err
		}
		out, err = l.clusterAPI(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.UpdateCluster200JSONResponse(out), nil
}

// DeleteCluster deletes a cluster without hosts or quotas.
func (h handlers) DeleteCluster(ctx context.Context, req api.DeleteClusterRequestObject) (api.DeleteClusterResponseObject, error) {
	ch := &change{action: "cluster.delete", objectType: "cluster", objectName: req.Name}
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		c, err := clusterFor(ctx, tx, req.Name, PermClusterWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		return tx.DeleteCluster(ctx, c.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteCluster204Response{}, nil
}
