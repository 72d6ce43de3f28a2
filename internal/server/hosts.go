package server

import (
	"context"
	"math"
	"strings"
	"unicode"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// hostFor loads the host named name and its cluster for an action that
// needs perm (PermHostRead or PermHostWrite).
func hostFor(ctx context.Context, tx store.Tx, name, perm string) (store.Host, store.Cluster, error) {
	h, err := tx.GetHostByName(ctx, name)
	if err != nil {
		return h, store.Cluster{}, wrapNotFound(err, "host", name)
	}
	c, err := tx.GetCluster(ctx, h.ClusterID)
	if err != nil {
		return h, c, err
	}
	return h, c, checkHost(principalFrom(ctx), h, c, perm)
}

// checkHost decides whether p may act on host h of cluster c with perm.
// The hosts of platform clusters are the platform's machines: only
// platform admins see them. A tenant's hosts follow the tenant: invisible
// (404) to those who cannot read it, and perm needed there.
func checkHost(p *Principal, h store.Host, c store.Cluster, perm string) error {
	if c.OwnerTenantID == "" {
		if p.isPlatformAdmin() {
			return nil
		}
		return problem.NotFound("host", h.Name)
	}
	if !p.canRead(c.OwnerTenantID) {
		return problem.NotFound("host", h.Name)
	}
	if !p.can(c.OwnerTenantID, perm) {
		return problem.Forbidden("your role in the tenant owning cluster %q does not allow %s", c.Name, perm)
	}
	return nil
}

// ListHosts lists the hosts the caller may see, filtered by cluster, state,
// name prefix and label terms. Hosts of platform clusters are listed for
// platform admins only; for anyone else they are left out, as are the
// hosts of tenants where the caller lacks PermHostRead.
func (h handlers) ListHosts(ctx context.Context, req api.ListHostsRequestObject) (api.ListHostsResponseObject, error) {
	params := req.Params
	terms, err := labelTerms(deref(params.Label))
	if err != nil {
		return nil, err
	}
	f := store.HostFilter{State: string(deref(params.State)), NamePrefix: deref(params.NamePrefix), Labels: terms,
		Page: page(params.Limit, params.PageToken)}
	p := principalFrom(ctx)

	out := api.HostList{Items: []api.Host{}}
	err = h.store.Read(ctx, func(tx store.Tx) error {
		if params.Cluster != nil {
			c, err := clusterFor(ctx, tx, *params.Cluster, PermClusterRead)
			if err != nil {
				return err
			}
			if !p.isPlatformAdmin() && (c.OwnerTenantID == "" || !p.can(c.OwnerTenantID, PermHostRead)) {
				return nil
			}
			f.ClusterID = c.ID
		} else if !p.isPlatformAdmin() {
			ids, err := hostClusters(ctx, tx, p)
			if err != nil {
				return err
			}
			f.ClusterIDs = ids
		}
		hosts, next, err := tx.ListHosts(ctx, f)
		if err != nil {
			return pageErr(err)
		}
		if err := tx.CountHostInstances(ctx, hosts); err != nil { // one query for the page
			return err
		}
		l := newLookup(tx)
		for _, host := range hosts {
			ah, err := l.hostAPI(ctx, host)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, ah)
		}
		out.NextPageToken = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListHosts200JSONResponse(out), nil
}

// labelTerms parses and checks the label query terms.
func labelTerms(raw []string) ([]store.LabelTerm, error) {
	ops := map[validate.LabelOp]string{
		validate.Eq:        store.LabelEquals,
		validate.NotEq:     store.LabelNotEquals,
		validate.Exists:    store.LabelExists,
		validate.NotExists: store.LabelNotExists,
	}
	terms := make([]store.LabelTerm, len(raw))
	for i, s := range raw {
		t, err := validate.ParseLabelTerm(s)
		if err != nil {
			return nil, err
		}
		terms[i] = store.LabelTerm{Key: t.Key, Op: ops[t.Op], Value: t.Value}
	}
	return terms, nil
}

// hostClusters returns the IDs of the tenant-owned clusters whose hosts p
// may read (empty, not nil, when there are none).
func hostClusters(ctx context.Context, tx store.Tx, p *Principal) ([]string, error) {
	tenants, _ := p.visibleTenants()
	f := store.ClusterFilter{Scoped: true, TenantIDs: []string{}, Page: store.Page{Limit: store.MaxPageLimit}}
	for _, id := range tenants {
		if p.can(id, PermHostRead) {
			f.TenantIDs = append(f.TenantIDs, id)
		}
	}
	ids := []string{}
	if len(f.TenantIDs) == 0 {
		return ids, nil
	}
	for {
		clusters, next, err := tx.ListClusters(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, c := range clusters {
			if c.OwnerTenantID != "" {
				ids = append(ids, c.ID)
			}
		}
		if next == "" {
			return ids, nil
		}
		f.Token = next
	}
}

// CreateHost registers a host in a cluster.
func (h handlers) CreateHost(ctx context.Context, req api.CreateHostRequestObject) (api.CreateHostResponseObject, error) {
	in := req.Body
	host := store.Host{
		Name:    in.Name,
		Address: deref(in.Address),
		Labels:  map[string]string{},
		Capacity: store.HostResources{CPU: in.Capacity.CPU, MemoryMiB: in.Capacity.MemoryMib,
			DiskMiB: in.Capacity.DiskMib, NetworkMbps: in.Capacity.NetworkMbps},
		State:           store.HostReady,
		OS:              deref(in.OS),
		Arch:            deref(in.Arch),
		Zone:            deref(in.Zone),
		IsolatedTenants: deref(in.IsolatedTenants),
		IsolatedImages:  deref(in.IsolatedImages),
	}
	if in.Labels != nil {
		host.Labels = *in.Labels
	}
	v := validate.New()
	v.HostName("name", host.Name)
	if in.Address != nil {
		v.Address("address", host.Address)
	}
	v.Labels("labels", host.Labels)
	cp := host.Capacity
	v.Check(cp.CPU > 0 && !math.IsInf(cp.CPU, 0), "capacity.cpu", "must be greater than 0")
	v.Check(cp.MemoryMiB > 0, "capacity.memory_mib", "must be greater than 0")
	v.Check(cp.DiskMiB > 0, "capacity.disk_mib", "must be greater than 0")
	v.Check(cp.NetworkMbps > 0, "capacity.network_mbps", "must be greater than 0")
	v.Check(plain(host.OS), "os", "must not contain control characters")
	v.Check(plain(host.Arch), "arch", "must not contain control characters")
	checkIsolation(v, host.IsolatedTenants, host.IsolatedImages)
	if err := v.Err(); err != nil {
		return nil, err
	}

	ch := &change{action: "host.create", objectType: "host", objectName: host.Name}
	var out api.Host
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		c, err := clusterFor(ctx, tx, in.Cluster, PermHostWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		now := h.now()
		host.ClusterID, host.CreatedAt, host.UpdatedAt = c.ID, now, now
		if err := tx.CreateHost(ctx, &host); err != nil {
			return err
		}
		out, err = hostAPICounted(ctx, tx, host, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.CreateHost201JSONResponse(out), nil
}

// checkIsolation checks a host's reservation lists: tenant names, and
// images without duplicates.
func checkIsolation(v *validate.Validator, tenants, images []string) {
	for n, t := range tenants {
		v.TenantName(validate.Index("isolated_tenants", n), t)
	}
	for n, img := range images {
		v.Check(plain(img) && !strings.ContainsAny(img, " \t"), validate.Index("isolated_images", n), "must be an image reference without spaces")
	}
}

// hostAPICounted converts a host of cluster c with its instance count.
func hostAPICounted(ctx context.Context, tx store.Tx, host store.Host, c store.Cluster) (api.Host, error) {
	one := []store.Host{host}
	if err := tx.CountHostInstances(ctx, one); err != nil {
		return api.Host{}, err
	}
	return hostToAPI(one[0], c), nil
}

// plain reports whether s has no control characters.
func plain(s string) bool { return !strings.ContainsFunc(s, unicode.IsControl) }

// GetHost returns a host with its capacity, usage and allocatable resources.
func (h handlers) GetHost(ctx context.Context, req api.GetHostRequestObject) (api.GetHostResponseObject, error) {
	var out api.Host
	err := h.store.Read(ctx, func(tx store.Tx) error {
		host, c, err := hostFor(ctx, tx, req.Name, PermHostRead)
		if err != nil {
			return err
		}
		out, err = hostAPICounted(ctx, tx, host, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetHost200JSONResponse(out), nil
}

// UpdateHost changes a host's address or state. Clients may set ready,
// cordoned and draining; down is for the system to set.
func (h handlers) UpdateHost(ctx context.Context, req api.UpdateHostRequestObject) (api.UpdateHostResponseObject, error) {
	in := req.Body
	v := validate.New()
	if in.Address != nil {
		v.Address("address", *in.Address)
	}
	if in.State != nil {
		s := string(*in.State)
		v.Check(s == store.HostReady || s == store.HostCordoned || s == store.HostDraining, "state",
			"must be ready, cordoned or draining; down is set by the system when a host stops reporting")
	}
	checkIsolation(v, deref(in.IsolatedTenants), deref(in.IsolatedImages))
	if err := v.Err(); err != nil {
		return nil, err
	}

	ch := &change{action: "host.update", objectType: "host", objectName: req.Name}
	var out api.Host
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		host, c, err := hostFor(ctx, tx, req.Name, PermHostWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		if in.Address != nil {
			host.Address = *in.Address
		}
		if in.State != nil {
			host.State = string(*in.State)
		}
		if in.Zone != nil {
			host.Zone = *in.Zone
		}
		if in.IsolatedTenants != nil {
			host.IsolatedTenants = *in.IsolatedTenants
		}
		if in.IsolatedImages != nil {
			host.IsolatedImages = *in.IsolatedImages
		}
		if err := tx.UpdateHost(ctx, &host); err != nil {
			return err
		}
		out, err = hostAPICounted(ctx, tx, host, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Draining, and any change of where instances may go, is the
	// reconciler's to act on.
	h.wake.poke()
	return api.UpdateHost200JSONResponse(out), nil
}

// UpdateHostLabels sets and removes labels of a host in one step.
func (h handlers) UpdateHostLabels(ctx context.Context, req api.UpdateHostLabelsRequestObject) (api.UpdateHostLabelsResponseObject, error) {
	set := map[string]string{}
	if req.Body.Set != nil {
		set = *req.Body.Set
	}
	remove := deref(req.Body.Remove)
	v := validate.New()
	v.Labels("set", set)
	for i, k := range remove {
		field := validate.Index("remove", i)
		v.LabelKey(field, k)
		_, both := set[k]
		v.Check(!both, field, "is also in set; a key may be set or removed, not both")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	ch := &change{action: "host.label", objectType: "host", objectName: req.Name}
	var out api.Host
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		host, c, err := hostFor(ctx, tx, req.Name, PermHostWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		labels := host.Labels
		for _, k := range remove {
			delete(labels, k)
		}
		for k, val := range set {
			labels[k] = val
		}
		if len(labels) > validate.MaxLabels {
			return problem.Invalid("set", "the host would have %d labels; it may have at most %d", len(labels), validate.MaxLabels)
		}
		if err := tx.UpdateHostLabels(ctx, host.ID, set, remove, h.now()); err != nil {
			return err
		}
		if host, err = tx.GetHost(ctx, host.ID); err != nil {
			return err
		}
		out, err = hostAPICounted(ctx, tx, host, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	h.wake.poke() // pending instances may match the labels now
	return api.UpdateHostLabels200JSONResponse(out), nil
}

// DeleteHost removes a host.
func (h handlers) DeleteHost(ctx context.Context, req api.DeleteHostRequestObject) (api.DeleteHostResponseObject, error) {
	ch := &change{action: "host.delete", objectType: "host", objectName: req.Name}
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		host, c, err := hostFor(ctx, tx, req.Name, PermHostWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		return tx.DeleteHost(ctx, host.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteHost204Response{}, nil
}
