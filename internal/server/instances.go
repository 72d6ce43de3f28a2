package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// instanceFor loads the instance ref (a name or an ID) of tenant tenantName
// for an action that needs perm.
func instanceFor(ctx context.Context, tx store.Tx, tenantName, ref, perm string) (store.Instance, error) {
	t, err := tenantFor(ctx, tx, tenantName, perm)
	if err != nil {
		return store.Instance{}, err
	}
	i, err := tx.GetInstanceByName(ctx, t.ID, ref)
	if _, uerr := uuid.Parse(ref); errors.Is(err, store.ErrNotFound) && uerr == nil {
		i, err = tx.GetInstance(ctx, ref)
		if err == nil && i.TenantID != t.ID {
			err = store.ErrNotFound
		}
	}
	return i, wrapNotFound(err, "instance", ref)
}

// ListInstances lists a tenant's instances.
func (h handlers) ListInstances(ctx context.Context, req api.ListInstancesRequestObject) (api.ListInstancesResponseObject, error) {
	f := store.InstanceFilter{Status: string(deref(req.Params.Status)), NamePrefix: deref(req.Params.NamePrefix),
		Page: page(req.Params.Limit, req.Params.PageToken)}
	var out api.InstanceList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermInstanceRead)
		if err != nil {
			return err
		}
		f.TenantID = t.ID
		out, err = listInstances(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.ListInstances200JSONResponse(out), nil
}

// ListAllInstances lists the instances of every tenant the caller reads.
func (h handlers) ListAllInstances(ctx context.Context, req api.ListAllInstancesRequestObject) (api.ListAllInstancesResponseObject, error) {
	params := req.Params
	f := store.InstanceFilter{Status: string(deref(params.Status)), Page: page(params.Limit, params.PageToken)}
	p := principalFrom(ctx)
	var out api.InstanceList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		if ids, all := p.visibleTenants(); !all {
			f.TenantIDs = []string{}
			for _, id := range ids {
				if p.can(id, PermInstanceRead) {
					f.TenantIDs = append(f.TenantIDs, id)
				}
			}
		}
		if params.Cluster != nil {
			c, err := clusterFor(ctx, tx, *params.Cluster, PermClusterRead)
			if err != nil {
				return err
			}
			f.ClusterID = c.ID
		}
		if params.Host != nil {
			host, _, err := hostFor(ctx, tx, *params.Host, PermHostRead)
			if err != nil {
				return err
			}
			f.HostID = host.ID
		}
		var err error
		out, err = listInstances(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.ListAllInstances200JSONResponse(out), nil
}

func listInstances(ctx context.Context, tx store.Tx, f store.InstanceFilter) (api.InstanceList, error) {
	list, next, err := tx.ListInstances(ctx, f)
	if err != nil {
		return api.InstanceList{}, pageErr(err)
	}
	out := api.InstanceList{Items: make([]api.Instance, 0, len(list)), NextPageToken: next}
	for _, i := range list {
		out.Items = append(out.Items, instanceToAPI(i))
	}
	return out, nil
}

// GetInstance answers one instance.
func (h handlers) GetInstance(ctx context.Context, req api.GetInstanceRequestObject) (api.GetInstanceResponseObject, error) {
	var i store.Instance
	err := h.store.Read(ctx, func(tx store.Tx) error {
		var err error
		i, err = instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceRead)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetInstance200JSONResponse(instanceToAPI(i)), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkSpec validates what the schema cannot and fills in defaults.
func checkSpec(v *validate.Validator, s *api.InstanceSpec) {
	s.CPU = ptr(deref(s.CPU))
	if *s.CPU == 0 {
		*s.CPU = 0.1
	}
	if s.MemoryMib == nil {
		s.MemoryMib = ptr(int64(128))
	}
	s.DiskMib, s.NetworkMbps = ptr(deref(s.DiskMib)), ptr(deref(s.NetworkMbps))
	switch s.Driver {
	case api.InstanceDriverProcess:
		v.Check(len(deref(s.Command)) > 0 && deref(s.Command)[0] != "", "spec.command", "is required for the process driver: give the program and its arguments")
		v.Check(deref(s.Image) == "", "spec.image", "is for the docker driver only")
		v.Check(len(deref(s.Ports)) == 0, "spec.ports", "are for the docker driver only: a process listens on the host's ports itself")
		v.Check(len(deref(s.Volumes)) == 0, "spec.volumes", "are for the docker driver only: a process sees the host's file system")
	case api.InstanceDriverDocker:
		v.Check(deref(s.Image) != "", "spec.image", "is required for the docker driver")
	}
	for k := range deref(s.Env) {
		v.Check(envName.MatchString(k), "spec.env."+k, "must be a variable name (letters, digits and _, not starting with a digit)")
	}
	seen := map[string]bool{}
	for n, p := range deref(s.Ports) {
		proto := string(deref(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		key := fmt.Sprintf("%d/%s", p.HostPort, proto)
		v.Check(!seen[key], fmt.Sprintf("spec.ports[%d].host_port", n), "maps host port "+key+" twice")
		seen[key] = true
	}
	r := deref(s.Restart)
	r.Policy = ptr(api.RestartPolicyPolicy(deref(r.Policy)))
	if *r.Policy == "" {
		*r.Policy = api.RestartPolicyPolicyOnFailure
	}
	r.MaxRetries = ptr(deref(r.MaxRetries))
	if r.BackoffMs == nil {
		r.BackoffMs = ptr(1000)
	}
	if r.MaxBackoffMs == nil {
		r.MaxBackoffMs = ptr(max(30000, *r.BackoffMs))
	}
	v.Check(*r.MaxBackoffMs >= *r.BackoffMs, "spec.restart.max_backoff_ms", "must not be below backoff_ms")
	s.Restart = &r
	hc := deref(s.HealthCheck)
	hc.Type = ptr(api.HealthCheckType(deref(hc.Type)))
	if *hc.Type == "" {
		*hc.Type = api.HealthCheckTypeNone
	}
	switch *hc.Type {
	case api.HealthCheckTypeHTTP, api.HealthCheckTypeTCP:
		v.Check(hc.Port != nil, "spec.health_check.port", "is required for http and tcp checks")
	case api.HealthCheckTypeExec:
		v.Check(len(deref(hc.Command)) > 0, "spec.health_check.command", "is required for exec checks")
	}
	if *hc.Type == api.HealthCheckTypeHTTP && hc.Path == nil {
		hc.Path = ptr("/")
	}
	for field, def := range map[**int]int{&hc.IntervalSeconds: 10, &hc.TimeoutSeconds: 3, &hc.Retries: 3, &hc.StartPeriodSeconds: 0} {
		if *field == nil {
			*field = ptr(def)
		}
	}
	s.HealthCheck = &hc
}

// CreateInstance admits an instance against its tenant's quota, places it
// and lets the host's agent start it.
func (h handlers) CreateInstance(ctx context.Context, req api.CreateInstanceRequestObject) (api.CreateInstanceResponseObject, error) {
	in := req.Body
	v := validate.New()
	v.Labels("labels", deref(in.Labels))
	checkSpec(v, &in.Spec)
	constraints := deref(in.Constraints)
	for n, c := range constraints {
		_, err := scheduler.ParseTerm(c)
		v.At(fmt.Sprintf("constraints[%d]", n), err)
	}
	group, policy := deref(in.Group), string(deref(in.GroupPolicy))
	v.Check(group != "" || policy == "", "group", "is required with group_policy: name the instance group")
	v.Check(group == "" || policy != "", "group_policy", "is required with group: same-host or different-host")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(deref(in.Spec.Volumes)) > 0 && !principalFrom(ctx).isPlatformAdmin() {
		return nil, &problem.Error{Status: http.StatusForbidden, Code: problem.CodeForbidden, Field: "spec.volumes",
			Detail: "only platform admins may bind host directories into instances: a bind mount can reach anything on the host"}
	}
	spec, err := json.Marshal(in.Spec)
	if err != nil {
		return nil, err
	}
	inst := store.Instance{
		ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Priority: deref(in.Priority), Labels: deref(in.Labels),
		Constraints: constraints, Driver: string(in.Spec.Driver), Spec: spec, Zone: deref(in.Zone),
		Group: group, GroupPolicy: policy, Image: deref(in.Spec.Image), HostPorts: hostPorts(in.Spec),
		Resources: store.Resources{CPU: *in.Spec.CPU, MemoryMiB: *in.Spec.MemoryMib, StorageMiB: *in.Spec.DiskMib,
			NetworkMbps: *in.Spec.NetworkMbps},
		Desired: store.DesiredRunning, Status: store.StatusPending, CreatedAt: h.now(),
	}
	if in.Start != nil && !*in.Start {
		inst.Desired, inst.Status = store.DesiredStopped, store.StatusStopped
	}
	clusterName := "default"
	if in.Cluster != nil {
		clusterName = *in.Cluster
	}
	ch := &change{action: "instance.create", objectType: "instance", objectName: in.Name}
	err = h.placing(ctx, ch, func(tx store.Tx, p *placement) error {
		t, err := tenantFor(ctx, tx, req.Name, PermInstanceWrite)
		if err != nil {
			return err
		}
		ch.tenantID, ch.tenantName = t.ID, t.Name
		c, err := clusterFor(ctx, tx, clusterName, PermClusterRead)
		if err != nil {
			return err
		}
		inst.TenantID, inst.TenantName, inst.ClusterID, inst.ClusterName = t.ID, t.Name, c.ID, c.Name
		if err := tx.CreateInstance(ctx, &inst); err != nil {
			return err
		}
		if err := reserve(ctx, tx, inst, t, c); err != nil {
			return err
		}
		p.event(&inst, "created", "", "created by %s", principalFrom(ctx).UserName)
		if inst.Desired != store.DesiredRunning {
			return nil
		}
		_, err = p.place(ctx, &inst)
		return err
	})
	if err != nil {
		return nil, err
	}
	if inst.HostID == "" {
		h.wake.poke()
	}
	return api.CreateInstance201JSONResponse(instanceToAPI(inst)), nil
}

// hostPorts lists the host ports a spec maps, in order, each once.
func hostPorts(s api.InstanceSpec) []int {
	var ports []int
	for _, p := range deref(s.Ports) {
		if !slices.Contains(ports, p.HostPort) {
			ports = append(ports, p.HostPort)
		}
	}
	slices.Sort(ports)
	return ports
}

// reserve charges i to its tenant's quota tier on the cluster.
func reserve(ctx context.Context, tx store.Tx, i store.Instance, t store.Tenant, c store.Cluster) error {
	_, err := tx.ReserveQuota(ctx, store.QuotaRequest{TenantID: i.TenantID, ClusterID: i.ClusterID, Priority: i.Priority,
		Resources: i.Resources, OwnerKind: "instance", OwnerID: i.ID})
	if errors.Is(err, store.ErrNotFound) {
		return &problem.Error{Status: http.StatusConflict, Code: problem.CodeQuotaExceeded, Field: "priority",
			Detail: fmt.Sprintf("tenant %q has no quota tier of priority %d on cluster %q: ask a platform admin to set one (nimbus quota set %s --cluster %s)",
				t.Name, i.Priority, c.Name, t.Name, c.Name)}
	}
	return err
}

// DeleteInstance removes an instance; its host's agent stops it.
func (h handlers) DeleteInstance(ctx context.Context, req api.DeleteInstanceRequestObject) (api.DeleteInstanceResponseObject, error) {
	ch := &change{action: "instance.delete", objectType: "instance", objectName: req.Instance}
	err := h.placing(ctx, ch, func(tx store.Tx, p *placement) error {
		i, err := instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceWrite)
		if err != nil {
			return err
		}
		ch.tenantID, ch.tenantName, ch.objectName = i.TenantID, i.TenantName, i.Name
		if err := p.unassign(ctx, &i); err != nil {
			return err
		}
		if err := tx.ReleaseQuota(ctx, "instance", i.ID); err != nil {
			return err
		}
		return tx.DeleteInstance(ctx, i.ID)
	})
	if err != nil {
		return nil, err
	}
	h.wake.poke()
	return api.DeleteInstance204Response{}, nil
}

// InstanceAction starts, stops or restarts an instance by changing what its
// agent is asked to do.
func (h handlers) InstanceAction(ctx context.Context, req api.InstanceActionRequestObject) (api.InstanceActionResponseObject, error) {
	action := string(req.Body.Action)
	ch := &change{action: "instance." + action, objectType: "instance", objectName: req.Instance}
	var i store.Instance
	err := h.placing(ctx, ch, func(tx store.Tx, p *placement) error {
		var err error
		if i, err = instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceWrite); err != nil {
			return err
		}
		ch.tenantID, ch.tenantName, ch.objectName = i.TenantID, i.TenantName, i.Name
		who := principalFrom(ctx).UserName
		switch req.Body.Action {
		case api.InstanceActionRequestActionStop:
			i.Desired = store.DesiredStopped
			if i.HostID == "" {
				i.Status, i.Message = store.StatusStopped, ""
			} else {
				i.Status = store.StatusStopping
			}
			p.event(&i, "stopping", i.HostID, "stop requested by %s", who)
		case api.InstanceActionRequestActionStart, api.InstanceActionRequestActionRestart:
			if req.Body.Action == api.InstanceActionRequestActionRestart {
				i.RestartSeq++
				p.event(&i, "restarting", i.HostID, "restart requested by %s", who)
			} else {
				p.event(&i, "starting", i.HostID, "start requested by %s", who)
			}
			i.Desired = store.DesiredRunning
			if i.HostID == "" {
				_, err := p.place(ctx, &i)
				return err
			}
		}
		if i.HostID != "" {
			p.touch(i.HostID, i.ID)
		}
		return tx.UpdateInstance(ctx, &i)
	})
	if err != nil {
		return nil, err
	}
	return api.InstanceAction200JSONResponse(instanceToAPI(i)), nil
}

// ListInstanceEvents answers an instance's timeline.
func (h handlers) ListInstanceEvents(ctx context.Context, req api.ListInstanceEventsRequestObject) (api.ListInstanceEventsResponseObject, error) {
	out := api.InstanceEventList{Items: []api.InstanceEvent{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		i, err := instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceRead)
		if err != nil {
			return err
		}
		events, next, err := tx.ListInstanceEvents(ctx, i.ID, page(req.Params.Limit, req.Params.PageToken))
		if err != nil {
			return pageErr(err)
		}
		for _, e := range events {
			out.Items = append(out.Items, api.InstanceEvent{At: e.At, Type: e.Type, Message: e.Message, Host: e.HostName})
		}
		out.NextPageToken = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListInstanceEvents200JSONResponse(out), nil
}

// instanceToAPI converts an instance for the wire.
func instanceToAPI(i store.Instance) api.Instance {
	var spec api.InstanceSpec
	_ = json.Unmarshal(i.Spec, &spec) // written by CreateInstance from this type
	out := api.Instance{
		ID: i.ID, Name: i.Name, Tenant: i.TenantName, Cluster: i.ClusterName, Priority: i.Priority,
		Labels: i.Labels, Constraints: i.Constraints, Spec: spec, Desired: api.DesiredState(i.Desired),
		Status: api.InstanceStatus(i.Status), Host: i.HostName, Generation: i.Generation, Restarts: i.Restarts,
		ExitCode: i.ExitCode, OomKilled: i.OOMKilled, Message: i.Message, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
	}
	if i.Zone != "" {
		out.Zone = ptr(i.Zone)
	}
	if i.Group != "" {
		out.Group, out.GroupPolicy = ptr(i.Group), ptr(i.GroupPolicy)
	}
	if !i.StartedAt.IsZero() {
		out.StartedAt = ptr(i.StartedAt)
	}
	if out.Constraints == nil {
		out.Constraints = []string{}
	}
	return out
}
