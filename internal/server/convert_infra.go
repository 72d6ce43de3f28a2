package server

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

func capacityToAPI(r store.HostResources) api.Capacity {
	return api.Capacity{CPU: r.CPU, MemoryMib: r.MemoryMiB, DiskMib: r.DiskMiB, NetworkMbps: r.NetworkMbps}
}

// allocatable is what the scheduler may hand out of capacity on cluster c:
// CPU and memory multiplied by the cluster's overcommit ratios, disk and
// network as they are.
func allocatable(capacity store.HostResources, c store.Cluster) api.Capacity {
	out := capacityToAPI(capacity)
	out.CPU = capacity.CPU * c.CPUOvercommit
	out.MemoryMib = int64(math.Floor(float64(capacity.MemoryMiB) * c.MemoryOvercommit))
	return out
}

// clusterToAPI converts c; owner is the owning tenant's name, empty for a
// platform cluster.
func clusterToAPI(c store.Cluster, owner string) api.Cluster {
	out := api.Cluster{
		ID:                      c.ID,
		Name:                    c.Name,
		Description:             c.Description,
		CPUOvercommit:           c.CPUOvercommit,
		MemoryOvercommit:        c.MemoryOvercommit,
		Strategy:                api.Strategy(c.Strategy),
		Registry:                c.Registry,
		HeartbeatTimeoutSeconds: int(c.HeartbeatTimeout / time.Second),
		MaxStartingPerHost:      c.MaxStarting,
		HostCount:               c.HostCount,
		Capacity:                capacityToAPI(c.Capacity),
		Allocatable:             allocatable(c.Capacity, c),
		Usage:                   capacityToAPI(c.Usage),
		CreatedAt:               c.CreatedAt,
		UpdatedAt:               c.UpdatedAt,
	}
	if owner != "" {
		out.OwnerTenant = ptr(owner)
	}
	return out
}

// hostToAPI converts h, which belongs to cluster c.
func hostToAPI(h store.Host, c store.Cluster) api.Host {
	labels := h.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	var drivers []api.DriverReport
	_ = json.Unmarshal([]byte(h.Drivers), &drivers) // written from this type by AgentJoin and AgentHeartbeat
	return api.Host{
		Drivers:         &drivers,
		ID:              h.ID,
		Name:            h.Name,
		Cluster:         c.Name,
		Address:         h.Address,
		Labels:          labels,
		Capacity:        capacityToAPI(h.Capacity),
		Usage:           capacityToAPI(h.Usage),
		Allocatable:     allocatable(h.Capacity, c),
		State:           api.HostState(h.State),
		OS:              h.OS,
		Arch:            h.Arch,
		Zone:            h.Zone,
		IsolatedTenants: h.IsolatedTenants,
		IsolatedImages:  h.IsolatedImages,
		InstanceCount:   h.InstanceCount,
		CreatedAt:       h.CreatedAt,
		UpdatedAt:       h.UpdatedAt,
		LastHeartbeatAt: timePtr(h.LastHeartbeatAt),
	}
}

func resourcesToAPI(r store.Resources) api.Resources {
	return api.Resources{CPU: r.CPU, MemoryMib: r.MemoryMiB, StorageMib: r.StorageMiB, NetworkMbps: r.NetworkMbps}
}

func quotaToAPI(q store.Quota) api.Quota {
	tiers := make([]api.QuotaTier, len(q.Tiers))
	for i, t := range q.Tiers {
		tiers[i] = api.QuotaTier{Priority: t.Priority, Limits: resourcesToAPI(t.Limits), Used: resourcesToAPI(t.Used)}
	}
	return api.Quota{Tenant: q.TenantName, Cluster: q.ClusterName, Tiers: tiers, CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt}
}

func quotasToAPI(qs []store.Quota) []api.Quota {
	out := make([]api.Quota, len(qs))
	for i, q := range qs {
		out[i] = quotaToAPI(q)
	}
	return out
}

func auditToAPI(r store.AuditRecord) api.AuditRecord {
	out := api.AuditRecord{
		ID:         r.ID,
		Time:       r.Time,
		Actor:      r.ActorName,
		Action:     r.Action,
		ObjectType: r.ObjectType,
		ObjectName: r.ObjectName,
		Result:     api.AuditResult(r.Result),
		RequestID:  r.RequestID,
		SourceIP:   r.SourceIP,
	}
	if r.APIKey != "" {
		out.APIKey = ptr(r.APIKey)
	}
	if r.TenantName != "" {
		out.Tenant = ptr(r.TenantName)
	}
	if r.ErrorCode != "" {
		out.ErrorCode = ptr(r.ErrorCode)
	}
	return out
}

// lookup loads the tenants, users and clusters a response refers to by ID, each
// at most once per request.
type lookup struct {
	tx       store.Tx
	tenants  map[string]string // ID -> name
	users    map[string]string // ID -> name
	clusters map[string]store.Cluster
}

func newLookup(tx store.Tx) *lookup {
	return &lookup{tx: tx, tenants: map[string]string{}, users: map[string]string{}, clusters: map[string]store.Cluster{}}
}

// tenantName returns the name of tenant id, or "" when id is "".
func (l *lookup) tenantName(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if name, ok := l.tenants[id]; ok {
		return name, nil
	}
	t, err := l.tx.GetTenant(ctx, id)
	if err != nil {
		return "", err
	}
	l.tenants[id] = t.Name
	return t.Name, nil
}

// userName returns the name of user id.
func (l *lookup) userName(ctx context.Context, id string) (string, error) {
	if name, ok := l.users[id]; ok {
		return name, nil
	}
	u, err := l.tx.GetUser(ctx, id)
	if err != nil {
		return "", err
	}
	l.users[id] = u.Name
	return u.Name, nil
}

// cluster returns cluster id.
func (l *lookup) cluster(ctx context.Context, id string) (store.Cluster, error) {
	if c, ok := l.clusters[id]; ok {
		return c, nil
	}
	c, err := l.tx.GetCluster(ctx, id)
	if err != nil {
		return c, err
	}
	l.clusters[id] = c
	return c, nil
}

// clusterAPI converts c, looking up its owner's name.
func (l *lookup) clusterAPI(ctx context.Context, c store.Cluster) (api.Cluster, error) {
	owner, err := l.tenantName(ctx, c.OwnerTenantID)
	if err != nil {
		return api.Cluster{}, err
	}
	return clusterToAPI(c, owner), nil
}

// hostAPI converts h, looking up its cluster.
func (l *lookup) hostAPI(ctx context.Context, h store.Host) (api.Host, error) {
	c, err := l.cluster(ctx, h.ClusterID)
	if err != nil {
		return api.Host{}, err
	}
	return hostToAPI(h, c), nil
}
