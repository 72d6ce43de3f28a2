package server

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// ExplainInstance says why an instance is or is not placed: the scheduler's
// reasons over every host of its cluster, and what preemption would free.
// The plan names no instance, as they may belong to other tenants.
func (h handlers) ExplainInstance(ctx context.Context, req api.ExplainInstanceRequestObject) (api.ExplainInstanceResponseObject, error) {
	var out api.Explanation
	err := h.store.Read(ctx, func(tx store.Tx) error {
		i, err := instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceRead)
		if err != nil {
			return err
		}
		s, err := newPlacement(tx).snapshot(ctx, &i, true)
		if err != nil {
			return err
		}
		if n := s.sched.Index(i.HostID); n >= 0 {
			// Judge the other hosts as if it were not there.
			s.sched.Release(n, &s.req)
		}
		e := s.sched.Explain(&s.req)
		out = api.Explanation{Status: api.InstanceStatus(i.Status), Hosts: e.Hosts, Fit: e.Fit, Summary: e.String(),
			Reasons: []api.ExplainReason{}}
		if i.HostID != "" {
			out.Host = ptr(i.HostName)
			out.Summary = fmt.Sprintf("placed on host %s; %s", i.HostName, out.Summary)
		}
		for _, f := range e.Findings {
			out.Reasons = append(out.Reasons, api.ExplainReason{Reason: string(f.Reason), Hosts: f.Hosts, Detail: f.Detail})
		}
		if plan := e.Preemption; plan.Host >= 0 {
			pp := api.PreemptionPlan{Host: s.view.hosts[plan.Host].Name, Victims: len(plan.Victims), VictimPriorities: []int{},
				Frees: api.Capacity{CPU: float64(plan.Freed.MilliCPU) / 1000, MemoryMib: plan.Freed.MemoryMiB,
					DiskMib: plan.Freed.DiskMiB, NetworkMbps: plan.Freed.NetworkMbps}}
			for _, v := range plan.Victims {
				pp.VictimPriorities = append(pp.VictimPriorities, v.Priority)
			}
			out.Preemption = &pp
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ExplainInstance200JSONResponse(out), nil
}
