package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// maxQuotaPriority bounds a tier priority, as the API document does.
const maxQuotaPriority = 1000

// quotaCluster loads the cluster named name for a quota of a tenant the
// caller reads. A tenant's cluster answers 404 to those who cannot read
// that tenant; no further permission is needed to name it.
func quotaCluster(ctx context.Context, tx store.Tx, name string) (store.Cluster, error) {
	c, err := tx.GetClusterByName(ctx, name)
	if err != nil {
		return c, wrapNotFound(err, "cluster", name)
	}
	if c.OwnerTenantID != "" && !principalFrom(ctx).canRead(c.OwnerTenantID) {
		return c, problem.NotFound("cluster", name)
	}
	return c, nil
}

// noQuota reports that tenant has no quota on cluster.
func noQuota(tenant, cluster string) error {
	return problem.New(http.StatusNotFound, problem.CodeNotFound, "tenant %q has no quota on cluster %q", tenant, cluster)
}

// ListTenantQuotas lists a tenant's quotas, one per cluster.
func (h handlers) ListTenantQuotas(ctx context.Context, req api.ListTenantQuotasRequestObject) (api.ListTenantQuotasResponseObject, error) {
	var out api.QuotaList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermQuotaRead)
		if err != nil {
			return err
		}
		quotas, next, err := tx.ListQuotas(ctx, store.QuotaFilter{TenantID: t.ID, Page: page(req.Params.Limit, req.Params.PageToken)})
		if err != nil {
			return pageErr(err)
		}
		out = api.QuotaList{Items: quotasToAPI(quotas), NextPageToken: next}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListTenantQuotas200JSONResponse(out), nil
}

// GetQuota returns a tenant's quota on a cluster.
func (h handlers) GetQuota(ctx context.Context, req api.GetQuotaRequestObject) (api.GetQuotaResponseObject, error) {
	var out api.Quota
	err := h.store.Read(ctx, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermQuotaRead)
		if err != nil {
			return err
		}
		c, err := quotaCluster(ctx, tx, req.Cluster)
		if err != nil {
			return err
		}
		q, err := tx.GetQuota(ctx, t.ID, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			return noQuota(t.Name, c.Name)
		}
		if err != nil {
			return err
		}
		out = quotaToAPI(q)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.GetQuota200JSONResponse(out), nil
}

// PutQuota creates a tenant's quota on a cluster or replaces its tier set
// (platform admins only). Tiers left out are deleted; the store refuses to
// delete a tier with usage or to lower a limit below usage.
func (h handlers) PutQuota(ctx context.Context, req api.PutQuotaRequestObject) (api.PutQuotaResponseObject, error) {
	tiers, err := quotaTiers(req.Body.Tiers)
	if err != nil {
		return nil, err
	}
	ch := &change{action: "quota.update", objectType: "quota", objectName: req.Cluster}
	var (
		q       store.Quota
		created bool
	)
	err = h.mutate(ctx, ch, func(tx store.Tx) error {
		ch.action = "quota.update" // the store may retry fn after a first attempt created the quota
		t, err := tenantFor(ctx, tx, req.Name, PermQuotaRead)
		if err != nil {
			return err
		}
		if err := requirePlatformAdmin(ctx); err != nil {
			return err
		}
		ch.tenantID, ch.tenantName = t.ID, t.Name
		c, err := quotaCluster(ctx, tx, req.Cluster)
		if err != nil {
			return err
		}
		if c.OwnerTenantID != "" && c.OwnerTenantID != t.ID {
			return problem.Conflict("cluster", "cluster %q belongs to another tenant; only its owner may hold a quota there", c.Name)
		}
		q = store.Quota{TenantID: t.ID, ClusterID: c.ID, Tiers: tiers}
		created, err = tx.PutQuota(ctx, &q, h.now())
		if created {
			ch.action = "quota.create"
		}
		return tierFault(err, req.Body.Tiers)
	})
	if err != nil {
		return nil, err
	}
	if created {
		return api.PutQuota201JSONResponse(quotaToAPI(q)), nil
	}
	return api.PutQuota200JSONResponse(quotaToAPI(q)), nil
}

// tierFault names the tier and limit of a refused quota change by its
// place in the request, e.g. tiers[1].memory_mib.
func tierFault(err error, specs []api.QuotaTierSpec) error {
	var inUse *store.InUseError
	if !errors.As(err, &inUse) || inUse.Tier == nil {
		return err
	}
	field := "tiers"
	for i, spec := range specs {
		if deref(spec.Priority) == *inUse.Tier {
			field = validate.Index("tiers", i)
			if inUse.Resource != "" {
				field += "." + inUse.Resource
			}
		}
	}
	return problem.Conflict(field, "%s; free the usage first", inUse.Error())
}

// quotaTiers checks a tier set and fills in the reference defaults of the
// fields left out. It returns the tiers sorted by priority.
func quotaTiers(specs []api.QuotaTierSpec) ([]store.QuotaTier, error) {
	v := validate.New()
	v.Check(len(specs) >= 1 && len(specs) <= store.MaxQuotaTiers, "tiers",
		fmt.Sprintf("must have 1 to %d tiers", store.MaxQuotaTiers))
	tiers := make([]store.QuotaTier, len(specs))
	seen := map[int]int{} // priority -> index of its first tier
	for i, s := range specs {
		field := validate.Index("tiers", i)
		t := store.QuotaTier{
			Priority: deref(s.Priority),
			Limits: store.Resources{
				CPU:         store.DefaultQuotaCPU,
				MemoryMiB:   store.DefaultQuotaMemoryMiB,
				StorageMiB:  store.DefaultQuotaStorageMiB,
				NetworkMbps: store.DefaultQuotaNetworkMbps,
			},
		}
		if s.CPU != nil {
			t.Limits.CPU = *s.CPU
		}
		if s.MemoryMib != nil {
			t.Limits.MemoryMiB = *s.MemoryMib
		}
		if s.StorageMib != nil {
			t.Limits.StorageMiB = *s.StorageMib
		}
		if s.NetworkMbps != nil {
			t.Limits.NetworkMbps = *s.NetworkMbps
		}
		v.Check(t.Priority >= 0 && t.Priority <= maxQuotaPriority, field+".priority",
			fmt.Sprintf("must be between 0 and %d", maxQuotaPriority))
		if j, dup := seen[t.Priority]; dup {
			v.Check(false, field+".priority", fmt.Sprintf("repeats the priority of tiers[%d]; priorities must be unique", j))
		} else {
			seen[t.Priority] = i
		}
		v.Check(t.Limits.CPU > 0 && !math.IsInf(t.Limits.CPU, 0), field+".cpu", "must be greater than 0")
		v.Check(t.Limits.MemoryMiB > 0, field+".memory_mib", "must be greater than 0")
		v.Check(t.Limits.StorageMiB > 0, field+".storage_mib", "must be greater than 0")
		v.Check(t.Limits.NetworkMbps > 0, field+".network_mbps", "must be greater than 0")
		tiers[i] = t
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(tiers, func(a, b store.QuotaTier) int { return cmp.Compare(a.Priority, b.Priority) })
	return tiers, nil
}

// DeleteQuota deletes a tenant's quota on a cluster (platform admins only).
// The store refuses while a tier has usage.
func (h handlers) DeleteQuota(ctx context.Context, req api.DeleteQuotaRequestObject) (api.DeleteQuotaResponseObject, error) {
	ch := &change{action: "quota.delete", objectType: "quota", objectName: req.Cluster}
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermQuotaRead)
		if err != nil {
			return err
		}
		if err := requirePlatformAdmin(ctx); err != nil {
			return err
		}
		ch.tenantID, ch.tenantName = t.ID, t.Name
		c, err := quotaCluster(ctx, tx, req.Cluster)
		if err != nil {
			return err
		}
		err = tx.DeleteQuota(ctx, t.ID, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			return noQuota(t.Name, c.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteQuota204Response{}, nil
}

// ListQuotas lists every quota, optionally on one cluster (platform admins
// only).
func (h handlers) ListQuotas(ctx context.Context, req api.ListQuotasRequestObject) (api.ListQuotasResponseObject, error) {
	if err := requirePlatformAdmin(ctx); err != nil {
		return nil, err
	}
	f := store.QuotaFilter{Page: page(req.Params.Limit, req.Params.PageToken)}
	var out api.QuotaList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		if req.Params.Cluster != nil {
			c, err := tx.GetClusterByName(ctx, *req.Params.Cluster)
			if err != nil {
				return wrapNotFound(err, "cluster", *req.Params.Cluster)
			}
			f.ClusterID = c.ID
		}
		quotas, next, err := tx.ListQuotas(ctx, f)
		if err != nil {
			return pageErr(err)
		}
		out = api.QuotaList{Items: quotasToAPI(quotas), NextPageToken: next}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListQuotas200JSONResponse(out), nil
}
