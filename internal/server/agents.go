package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// timings derives what agent and server agree on from a cluster's heartbeat
// timeout T: reports every T/5, fencing after 3T/5 of silence, so that an
// agent has stopped its instances (with 2T/5 to spare for the kill) before
// the server, at T, places them elsewhere.
func timings(c store.Cluster) api.AgentTimings {
	t := c.HeartbeatTimeout.Milliseconds()
	return api.AgentTimings{HeartbeatIntervalMs: int(t / 5), FenceTimeoutMs: int(t * 3 / 5), HeartbeatTimeoutMs: int(t)}
}

// CreateJoinToken makes a single-use token that lets one machine join the
// cluster, and the command that uses it.
func (h handlers) CreateJoinToken(ctx context.Context, req api.CreateJoinTokenRequestObject) (api.CreateJoinTokenResponseObject, error) {
	in := req.Body
	labels := deref(in.Labels)
	v := validate.New()
	v.Labels("labels", labels)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ttl := time.Duration(deref(in.TTLSeconds)) * time.Second
	if ttl == 0 {
		ttl = time.Hour
	}
	token := auth.NewJoinToken()
	ch := &change{action: "host.join_token", objectType: "cluster", objectName: req.Name}
	var out api.JoinToken
	err := h.mutate(ctx, ch, func(tx store.Tx) error {
		c, err := clusterFor(ctx, tx, req.Name, PermHostWrite)
		if err != nil {
			return err
		}
		if err := clusterChange(ctx, newLookup(tx), ch, c); err != nil {
			return err
		}
		jt := store.JoinToken{TokenHash: auth.HashSecret(token), ClusterID: c.ID, Labels: labels,
			CreatedBy: principalFrom(ctx).UserName, CreatedAt: h.now(), ExpiresAt: h.now().Add(ttl)}
		if err := tx.CreateJoinToken(ctx, &jt); err != nil {
			return err
		}
		out = api.JoinToken{Token: token, Cluster: c.Name, ExpiresAt: jt.ExpiresAt, Labels: (*map[string]string)(&labels),
			Command: fmt.Sprintf("nimbus agent --server %s --join-token %s", h.advertiseURL, token)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.CreateJoinToken201JSONResponse(out), nil
}

// AgentJoin trades a join token for a host and its credential. A host
// registered by name beforehand (or by `nimbus dev`) that has no agent yet
// is adopted; a name already joined answers 409.
func (h handlers) AgentJoin(ctx context.Context, req api.AgentJoinRequestObject) (api.AgentJoinResponseObject, error) {
	in := req.Body
	refused := problem.Unauthenticated("join token is invalid, used or expired: make a new one with `nimbus host join-command --cluster CLUSTER`")
	if !auth.LooksLikeJoinToken(in.Token) {
		return nil, refused
	}
	v := validate.New()
	v.HostName("host_name", in.HostName)
	v.Labels("labels", deref(in.Labels))
	if in.AgentURL != nil {
		_, err := agentURL(*in.AgentURL)
		v.At("agent_url", err)
	}
	if in.Address != nil {
		v.Address("address", *in.Address)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	drivers, err := json.Marshal(deref(in.Drivers))
	if err != nil {
		return nil, err
	}
	cred, key := auth.NewHostCredential(), auth.NewAgentKey()
	ch := &change{action: "host.join", objectType: "host", objectName: in.HostName, actorName: "agent:" + in.HostName}
	var out api.AgentJoinResponse
	err = h.placing(ctx, ch, func(tx store.Tx, p *placement) error {
		now := h.now()
		host, err := tx.GetHostByName(ctx, in.HostName)
		adopt := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !adopt {
			host = store.Host{ID: uuid.Must(uuid.NewV7()).String(), Name: in.HostName, Labels: map[string]string{}}
		}
		jt, err := tx.UseJoinToken(ctx, auth.HashSecret(in.Token), host.ID, now)
		if errors.Is(err, store.ErrNotFound) {
			return refused
		}
		if err != nil {
			return err
		}
		c, err := tx.GetCluster(ctx, jt.ClusterID)
		if err != nil {
			return err
		}
		if adopt {
			a, err := tx.GetHostAgent(ctx, host.ID)
			if err != nil {
				return err
			}
			if host.ClusterID != c.ID || a.CredentialHash != "" {
				return problem.Conflict("host_name", "host %q has already joined: remove it (nimbus host delete %s) or join under another name", host.Name, host.Name)
			}
		}
		// The labels of the token, given by an admin, win over the agent's:
		// placement constraints rest on them.
		labels := maps.Clone(deref(in.Labels))
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, jt.Labels)
		host.ClusterID, host.Address, host.OS, host.Arch = c.ID, deref(in.Address), deref(in.OS), deref(in.Arch)
		host.Capacity = capacityFromAPI(in.Capacity)
		host.State, host.LastHeartbeatAt = store.HostReady, now
		if adopt {
			err = tx.UpdateHost(ctx, &host)
			if err == nil {
				err = tx.UpdateHostLabels(ctx, host.ID, labels, nil, now)
			}
		} else {
			host.Labels, host.CreatedAt, host.UpdatedAt = labels, now, now
			err = tx.CreateHost(ctx, &host)
		}
		if err != nil {
			return err
		}
		if err := tx.SetHostAgent(ctx, host.ID, store.HostAgent{CredentialHash: auth.HashSecret(cred), Key: key,
			URL: deref(in.AgentURL), Drivers: string(drivers)}); err != nil {
			return err
		}
		ch.tenantID = c.OwnerTenantID
		p.touch(host.ID)
		out = api.AgentJoinResponse{Host: host.Name, Cluster: c.Name, Credential: cred, AgentKey: key, Timings: timings(c)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.wake.poke()
	return api.AgentJoin201JSONResponse(out), nil
}

func capacityFromAPI(c api.Capacity) store.HostResources {
	return store.HostResources{CPU: c.CPU, MemoryMiB: c.MemoryMib, DiskMiB: c.DiskMib, NetworkMbps: c.NetworkMbps}
}

// reportable are the statuses an agent may report.
var reportable = map[api.InstanceStatus]bool{
	api.InstanceStatusScheduled: true, api.InstanceStatusStarting: true, api.InstanceStatusRunning: true, api.InstanceStatusUnhealthy: true,
	api.InstanceStatusRestarting: true, api.InstanceStatusExited: true, api.InstanceStatusFailed: true,
	api.InstanceStatusStopping: true, api.InstanceStatusStopped: true,
}

// AgentHeartbeat takes a host's report: it keeps the host up, records its
// instances' status (from the current placement only: a stale copy's word
// is ignored), their events and resource samples.
func (h handlers) AgentHeartbeat(ctx context.Context, req api.AgentHeartbeatRequestObject) (api.AgentHeartbeatResponseObject, error) {
	in := req.Body
	hostID := principalFrom(ctx).HostID
	if in.AgentURL != nil {
		if _, err := agentURL(*in.AgentURL); err != nil {
			return nil, problem.Invalid("agent_url", "%v", err)
		}
	}
	var out api.AgentHeartbeatResponse
	cameBack := false
	err := h.store.Write(ctx, func(tx store.Tx) error {
		now := h.now()
		host, err := tx.GetHost(ctx, hostID)
		if err != nil {
			return err
		}
		c, err := tx.GetCluster(ctx, host.ClusterID)
		if err != nil {
			return err
		}
		if cameBack = host.State == store.HostDown; cameBack {
			host.State = store.HostReady
		}
		host.LastHeartbeatAt = now
		host.LeaseUntil = now.Add(time.Duration(timings(c).FenceTimeoutMs) * time.Millisecond)
		if in.Capacity != nil {
			host.Capacity = capacityFromAPI(*in.Capacity)
		}
		if in.Address != nil {
			host.Address = *in.Address
		}
		if err := tx.UpdateHost(ctx, &host); err != nil {
			return err
		}
		// The agent sends its address and drivers with every report; they
		// are written only when they changed.
		a := store.HostAgent{URL: host.AgentURL, Drivers: host.Drivers}
		if in.AgentURL != nil {
			a.URL = *in.AgentURL
		}
		if in.Drivers != nil {
			b, _ := json.Marshal(*in.Drivers)
			a.Drivers = string(b)
		}
		if a.URL != host.AgentURL || a.Drivers != host.Drivers {
			if err := tx.SetHostAgent(ctx, hostID, a); err != nil {
				return err
			}
		}
		if err := h.takeReports(ctx, tx, host, in); err != nil {
			return err
		}
		rev, err := tx.AssignRevision(ctx, hostID)
		out = api.AgentHeartbeatResponse{Revision: rev, Timings: timings(c)}
		return err
	})
	if err != nil {
		return nil, err
	}
	if cameBack {
		h.log.InfoContext(ctx, "host is back", "host", principalFrom(ctx).HostName)
		h.wake.poke()
	}
	return api.AgentHeartbeat200JSONResponse(out), nil
}

// takeReports records a heartbeat's instance reports, events and samples.
func (h handlers) takeReports(ctx context.Context, tx store.Tx, host store.Host, in *api.AgentHeartbeat) error {
	// What the host holds, with its last reports, in one light read;
	// whole rows only for the reports that changed something.
	refs, err := tx.HostAssignments(ctx, host.ID, true)
	if err != nil {
		return err
	}
	held := make(map[string]int64, len(refs))
	last := make(map[string]store.Instance, len(refs))
	for _, r := range refs {
		held[r.ID] = r.Generation
		last[r.ID] = store.Instance{Generation: r.Generation, Status: r.Status, Restarts: r.Restarts, ExitCode: r.ExitCode,
			OOMKilled: r.OOMKilled, Message: r.Message, StartedAt: r.StartedAt}
	}
	var ids []string
	for _, r := range deref(in.Instances) {
		if was, ok := last[r.ID]; ok && was.Generation == r.Generation && !sameReport(was, reported(was, r)) {
			ids = append(ids, r.ID)
		}
	}
	mine, err := instancesByID(ctx, tx, host.ID, ids)
	if err != nil {
		return err
	}
	for _, r := range deref(in.Instances) {
		i, ok := mine[r.ID]
		if !ok || i.Generation != r.Generation || !reportable[r.Status] {
			continue
		}
		next := reported(*i, r)
		if sameReport(*i, next) {
			continue
		}
		if err := tx.UpdateInstance(ctx, &next); err != nil {
			return err
		}
	}
	// A host speaks only of what it runs now: events of copies it has
	// stopped after a move are dropped with them, so that no host can
	// write into the timeline of an instance it does not hold.
	var events []store.InstanceEvent
	for _, e := range deref(in.Events) {
		if gen, ok := held[e.InstanceID]; ok && e.Generation == gen {
			events = append(events, store.InstanceEvent{InstanceID: e.InstanceID, At: e.At, Type: e.Type,
				Message: deref(e.Message), HostID: host.ID})
		}
	}
	if err := tx.AddInstanceEvents(ctx, events); err != nil {
		return err
	}
	var samples []store.MetricSample
	for _, m := range deref(in.Samples) {
		id := deref(m.InstanceID)
		if id == "" {
			id = host.ID
		} else if _, ok := held[id]; !ok {
			continue
		}
		samples = append(samples, store.MetricSample{ObjectID: id, Resolution: store.ResolutionRaw, At: m.At,
			CPU: m.CPU, MemoryBytes: m.MemoryBytes})
	}
	return tx.AddSamples(ctx, samples)
}

// fromWire keeps a reported time to the store's precision, so that an
// unchanged report compares equal.
func fromWire(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// reported is i with what report r says of it.
func reported(i store.Instance, r api.InstanceReport) store.Instance {
	i.Status, i.ExitCode, i.OOMKilled = string(r.Status), r.ExitCode, deref(r.OomKilled)
	i.Restarts, i.Message = deref(r.Restarts), deref(r.Message)
	i.StartedAt = time.Time{}
	if r.StartedAt != nil {
		i.StartedAt = fromWire(*r.StartedAt)
	}
	return i
}

func sameReport(a, b store.Instance) bool {
	codeA, codeB := -1000, -1000
	if a.ExitCode != nil {
		codeA = *a.ExitCode
	}
	if b.ExitCode != nil {
		codeB = *b.ExitCode
	}
	return a.Status == b.Status && codeA == codeB && a.OOMKilled == b.OOMKilled && a.Restarts == b.Restarts &&
		a.Message == b.Message && a.StartedAt.Equal(b.StartedAt)
}

// instancesByID returns those of the instances ids placed on a host, by ID.
func instancesByID(ctx context.Context, tx store.Tx, hostID string, all []string) (map[string]*store.Instance, error) {
	out := map[string]*store.Instance{}
	for len(all) > 0 {
		batch := all[:min(len(all), store.MaxPageLimit)]
		all = all[len(batch):]
		list, _, err := tx.ListInstances(ctx, store.InstanceFilter{IDs: batch, HostID: hostID, Page: store.Page{Limit: store.MaxPageLimit}})
		if err != nil {
			return nil, err
		}
		for n := range list {
			out[list[n].ID] = &list[n]
		}
	}
	return out, nil
}

// hostInstances returns every instance placed on a host, by ID.
func hostInstances(ctx context.Context, tx store.Tx, hostID string) (map[string]*store.Instance, error) {
	out := map[string]*store.Instance{}
	f := store.InstanceFilter{HostID: hostID, Page: store.Page{Limit: store.MaxPageLimit}}
	for {
		list, next, err := tx.ListInstances(ctx, f)
		if err != nil {
			return nil, err
		}
		for n := range list {
			out[list[n].ID] = &list[n]
		}
		if next == "" {
			return out, nil
		}
		f.Token = next
	}
}

// assignmentPoll is how often a waiting assignment request looks at the
// store, for changes made by other servers on the same database.
const assignmentPoll = time.Second

// AgentAssignments answers the instances a host must run, waiting up to
// wait_ms for its revision to move past the agent's.
func (h handlers) AgentAssignments(ctx context.Context, req api.AgentAssignmentsRequestObject) (api.AgentAssignmentsResponseObject, error) {
	hostID := principalFrom(ctx).HostID
	have := deref(req.Params.Revision)
	deadline := time.Now().Add(time.Duration(deref(req.Params.WaitMs)) * time.Millisecond)
	for {
		woken := h.wake.host(hostID)
		var rev int64
		err := h.store.Read(ctx, func(tx store.Tx) error {
			var err error
			rev, err = tx.AssignRevision(ctx, hostID)
			return err
		})
		if err != nil {
			return nil, err
		}
		wait := time.Until(deadline)
		if rev != have || wait <= 0 {
			break
		}
		t := time.NewTimer(min(wait, assignmentPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-woken:
		case <-t.C:
		}
		t.Stop()
	}
	out := api.AgentAssignments{Instances: []api.Assignment{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		rev, err := tx.AssignRevision(ctx, hostID)
		if err != nil {
			return err
		}
		// An agent at a revision of this host gets what changed since,
		// and the list of what it must hold; a new agent gets everything.
		refs, err := tx.HostAssignments(ctx, hostID, false)
		if err != nil {
			return err
		}
		delta := have > 0 && have <= rev
		var ids []string
		for _, r := range refs {
			if !delta || r.AssignRev > have {
				ids = append(ids, r.ID)
			}
		}
		if delta {
			present := make([]api.AssignmentRef, len(refs))
			for n, r := range refs {
				present[n] = api.AssignmentRef{ID: r.ID, Generation: r.Generation}
			}
			out.Present = &present
		}
		mine, err := instancesByID(ctx, tx, hostID, ids)
		if err != nil {
			return err
		}
		host, err := tx.GetHost(ctx, hostID)
		if err != nil {
			return err
		}
		c, err := tx.GetCluster(ctx, host.ClusterID)
		if err != nil {
			return err
		}
		out.Revision, out.MaxStarting = rev, c.MaxStarting
		for _, i := range mine {
			var spec api.InstanceSpec
			if err := json.Unmarshal(i.Spec, &spec); err != nil {
				return fmt.Errorf("instance %s spec: %w", i.ID, err)
			}
			out.Instances = append(out.Instances, api.Assignment{ID: i.ID, Name: i.Name, Tenant: i.TenantName,
				Generation: i.Generation, Desired: api.DesiredState(i.Desired), RestartSeq: i.RestartSeq,
				Labels: i.Labels, Spec: spec})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortBy(out.Instances, func(a api.Assignment) string { return a.ID })
	return api.AgentAssignments200JSONResponse(out), nil
}
