package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// placement places instances on hosts inside a write transaction and
// remembers which hosts' assignments changed, so that their agents can be
// woken once the transaction has committed.
//
// The choice itself is the scheduler's (internal/scheduler): each decision
// runs over a snapshot of the cluster's hosts read in the transaction, and
// the chosen host's row is then read again under lock and checked before
// it is charged, so concurrent placements on several servers never
// overfill a host.
type placement struct {
	tx store.Tx
	// touched maps each host whose agent must look at its assignments
	// again to the instances whose assignment there changed.
	touched map[string][]string
	events  []store.InstanceEvent
	// views caches each cluster's hosts for the transaction; assign and
	// unassign keep it current.
	views map[string]*clusterView
	// pokeAfter asks the reconciler for a pass once committed (an
	// instance was preempted and waits for room).
	pokeAfter bool
	// decisions counts outcomes for /metrics, by result.
	decisions map[string]int
}

// clusterView is a cluster and its hosts as the transaction sees them.
type clusterView struct {
	cluster store.Cluster
	hosts   []store.Host
	byID    map[string]int
}

func newPlacement(tx store.Tx) *placement {
	return &placement{tx: tx, touched: map[string][]string{}, views: map[string]*clusterView{}, decisions: map[string]int{}}
}

// event records an instance event, written by flush.
func (p *placement) event(i *store.Instance, typ, hostID, format string, args ...any) {
	p.events = append(p.events, store.InstanceEvent{InstanceID: i.ID, Type: typ, HostID: hostID,
		Message: fmt.Sprintf(format, args...)})
}

// flush writes the recorded events, raises the assignment revision of
// every touched host and stamps the changed instances with it.
func (p *placement) flush(ctx context.Context) error {
	if len(p.events) > 0 {
		if err := p.tx.AddInstanceEvents(ctx, p.events); err != nil {
			return err
		}
		p.events = nil
	}
	for _, id := range slices.Sorted(maps.Keys(p.touched)) {
		rev, err := p.tx.BumpAssignRevision(ctx, id)
		if err != nil {
			return err
		}
		if err := p.tx.SetAssignRevision(ctx, p.touched[id], rev); err != nil {
			return err
		}
	}
	return nil
}

// touch marks a host whose agent must look at its assignments again, and
// the instances (if any) whose assignment there changed.
func (p *placement) touch(hostID string, changed ...string) {
	p.touched[hostID] = append(p.touched[hostID], changed...)
}

// view returns the cluster's hosts, read once per transaction.
func (p *placement) view(ctx context.Context, clusterID string) (*clusterView, error) {
	if v, ok := p.views[clusterID]; ok {
		return v, nil
	}
	c, err := p.tx.GetCluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	hosts, err := clusterHosts(ctx, p.tx, clusterID)
	if err != nil {
		return nil, err
	}
	v := &clusterView{cluster: c, hosts: hosts, byID: make(map[string]int, len(hosts))}
	for n, h := range hosts {
		v.byID[h.ID] = n
	}
	p.views[clusterID] = v
	return v, nil
}

// remember replaces a host of a cached view after it changed.
func (p *placement) remember(h store.Host) {
	if v, ok := p.views[h.ClusterID]; ok {
		if n, ok := v.byID[h.ID]; ok {
			v.hosts[n] = h
		}
	}
}

// clusterHosts lists every host of a cluster.
func clusterHosts(ctx context.Context, tx store.Tx, clusterID string) ([]store.Host, error) {
	var all []store.Host
	f := store.HostFilter{ClusterID: clusterID, Page: store.Page{Limit: store.MaxPageLimit}}
	for {
		hosts, next, err := tx.ListHosts(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, hosts...)
		if next == "" {
			return all, nil
		}
		f.Token = next
	}
}

// scheduling is one decision's scheduler over a snapshot, with the request.
type scheduling struct {
	view  *clusterView
	sched *scheduler.Scheduler
	req   scheduler.Request
}

// snapshot builds a scheduler for i over its cluster's hosts. Besides the
// hosts' usage it loads the instances the request's filters look at: the
// members of its group, the instances mapping host ports when it maps
// some, and, for preemption, the instances of lower priority. The
// instance itself is left out, and so are group members on hosts that take
// no instances (a drained group regroups on a host that does).
func (p *placement) snapshot(ctx context.Context, i *store.Instance, forPreemption bool) (*scheduling, error) {
	v, err := p.view(ctx, i.ClusterID)
	if err != nil {
		return nil, err
	}
	req, err := schedRequest(i)
	if err != nil {
		return nil, err
	}
	hosts := make([]scheduler.Host, len(v.hosts))
	for n, h := range v.hosts {
		hosts[n] = schedHost(h, v.cluster)
	}
	placed := map[string]store.Placed{}
	load := func(f store.PlacedFilter, keep func(store.Placed) bool) error {
		f.ClusterID = i.ClusterID
		list, err := p.tx.ListPlaced(ctx, f)
		for _, pl := range list {
			if pl.ID != i.ID && keep(pl) {
				placed[pl.ID] = pl
			}
		}
		return err
	}
	all := func(store.Placed) bool { return true }
	if i.Group != "" {
		err := load(store.PlacedFilter{TenantID: i.TenantID, Group: i.Group}, func(pl store.Placed) bool {
			n, ok := v.byID[pl.HostID]
			return ok && v.hosts[n].State == store.HostReady
		})
		if err != nil {
			return nil, err
		}
	}
	if len(i.HostPorts) > 0 {
		if err := load(store.PlacedFilter{WithPorts: true}, all); err != nil {
			return nil, err
		}
	}
	if forPreemption && i.Priority > 0 {
		if err := load(store.PlacedFilter{BelowPriority: i.Priority}, all); err != nil {
			return nil, err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(placed)) {
		pl := placed[id]
		if n, ok := v.byID[pl.HostID]; ok {
			hosts[n].Placed = append(hosts[n].Placed, schedPlaced(pl))
		}
	}
	opts := scheduler.Options{Strategy: scheduler.Spread, GroupWeight: 0.5}
	if v.cluster.Strategy == store.StrategyBinpack {
		opts.Strategy = scheduler.Binpack
	}
	if len(hosts) > sampleAbove {
		opts.Sample = scheduler.Limit(len(hosts))
	}
	return &scheduling{view: v, sched: scheduler.New(hosts, opts), req: req}, nil
}

// sampleAbove is the cluster size above which a decision scores a seeded
// sample of the hosts that fit rather than all of them (see
// docs/benchmarks.md for what that costs in packing).
const sampleAbove = 1000

// place finds a host for i and assigns it there, evicting instances of
// lower priority when nothing else makes room, or leaves it pending with
// the reasons in its message. It reports whether i was placed.
func (p *placement) place(ctx context.Context, i *store.Instance) (bool, error) {
	var full *scheduling // the snapshot in which no host fitted
	for range 3 {
		s, err := p.snapshot(ctx, i, false)
		if err != nil {
			return false, err
		}
		d := s.sched.Place(&s.req)
		if d.Host < 0 {
			full = s
			break
		}
		placed, err := p.assign(ctx, i, s.view.hosts[d.Host].ID, "")
		if err != nil || placed {
			return placed, err
		}
		// Another server took the room since the snapshot: look again.
		delete(p.views, i.ClusterID)
	}
	if i.Priority > 0 {
		placed, err := p.preempt(ctx, i)
		if err != nil || placed {
			return placed, err
		}
	}
	if full == nil {
		var err error
		if full, err = p.snapshot(ctx, i, false); err != nil {
			return false, err
		}
	}
	msg := "no host fits: " + full.sched.Explain(&full.req).String()
	if why, _, ok := strings.Cut(i.Message, "; "); ok && strings.HasPrefix(why, preemptedBy) {
		msg = why + "; " + msg
	}
	p.decisions["pending"]++
	if i.Status != store.StatusPending {
		p.event(i, "pending", "", "%s", msg)
	}
	i.Status, i.Message = store.StatusPending, msg
	return false, p.tx.UpdateInstance(ctx, i)
}

// preempt evicts the cheapest set of lower-priority instances on one host
// and places i there. The evicted go back to pending, keeping their quota,
// and are placed again when room appears.
func (p *placement) preempt(ctx context.Context, i *store.Instance) (bool, error) {
	s, err := p.snapshot(ctx, i, true)
	if err != nil {
		return false, err
	}
	plan := s.sched.Preempt(&s.req)
	if plan.Host < 0 {
		return false, nil
	}
	host := s.view.hosts[plan.Host]
	for _, victim := range plan.Victims {
		vi, err := p.tx.GetInstance(ctx, victim.ID)
		if err != nil {
			return false, err
		}
		if vi.HostID != host.ID || vi.Priority >= i.Priority {
			return false, fmt.Errorf("preemption of %s on %s: the instance moved meanwhile", vi.ID, host.Name)
		}
		if err := p.unassign(ctx, &vi); err != nil {
			return false, err
		}
		by := fmt.Sprintf("instance %s of another tenant", i.ID)
		if vi.TenantID == i.TenantID {
			by = fmt.Sprintf("instance %s", i.Name)
		}
		vi.Status, vi.Message = store.StatusPending, fmt.Sprintf("%s %s (priority %d); waiting for room", preemptedBy, by, i.Priority)
		if vi.Desired != store.DesiredRunning {
			// A stopped instance gives up its host; starting it places it again.
			vi.Status, vi.Message = store.StatusStopped, fmt.Sprintf("%s %s (priority %d)", preemptedBy, by, i.Priority)
		}
		p.event(&vi, "preempted", host.ID, "preempted on host %s by %s (priority %d, this one %d); it runs again when room appears",
			host.Name, by, i.Priority, vi.Priority)
		if err := p.tx.UpdateInstance(ctx, &vi); err != nil {
			return false, err
		}
		p.decisions["preempted"]++
	}
	p.pokeAfter = true
	placed, err := p.assign(ctx, i, host.ID, fmt.Sprintf(" after evicting %d instance(s) of lower priority", len(plan.Victims)))
	if err == nil && !placed {
		err = fmt.Errorf("preemption on %s did not make room for %s", host.Name, i.ID)
	}
	return placed, err
}

// preemptedBy starts the message of a preempted instance, kept while it
// waits for room.
const preemptedBy = "preempted by"

// assign places i on host hostID, charges the host, and starts a new
// generation. It reads the host again first (locking its row on
// PostgreSQL, where the snapshot was read without locks), and reports
// false when a concurrent placement has taken the room meanwhile. why is
// added to the event.
func (p *placement) assign(ctx context.Context, i *store.Instance, hostID, why string) (bool, error) {
	h, err := p.tx.GetHost(ctx, hostID)
	if err != nil {
		return false, err
	}
	v, err := p.view(ctx, h.ClusterID)
	if err != nil {
		return false, err
	}
	if h.State != store.HostReady || !roomFor(h, v.cluster, i.Resources) {
		return false, nil
	}
	addUsage(&h.Usage, i.Resources, 1)
	if err := p.tx.UpdateHost(ctx, &h); err != nil {
		return false, err
	}
	p.remember(h)
	i.HostID, i.HostName = h.ID, h.Name
	i.Generation++
	i.Status, i.Message, i.ExitCode, i.OOMKilled, i.Restarts = store.StatusScheduled, "", nil, false, 0
	i.StartedAt = time.Time{}
	p.touch(h.ID, i.ID)
	p.decisions["placed"]++
	p.event(i, "scheduled", h.ID, "placed on host %s%s", h.Name, why)
	return true, p.tx.UpdateInstance(ctx, i)
}

// unassign takes i off its host and gives the host its resources back.
// The host's agent stops the copy it has when it sees the change.
func (p *placement) unassign(ctx context.Context, i *store.Instance) error {
	if i.HostID == "" {
		return nil
	}
	h, err := p.tx.GetHost(ctx, i.HostID)
	if err != nil {
		return err
	}
	addUsage(&h.Usage, i.Resources, -1)
	if err := p.tx.UpdateHost(ctx, &h); err != nil {
		return err
	}
	p.remember(h)
	p.touch(h.ID)
	i.HostID, i.HostName = "", ""
	return nil
}

// addUsage adds (sign 1) or removes (sign -1) r from u, never below zero.
func addUsage(u *store.HostResources, r store.Resources, sign int) {
	s := float64(sign)
	u.CPU = max(0, math.Round((u.CPU+s*r.CPU)*1e6)/1e6)
	u.MemoryMiB = max(0, u.MemoryMiB+int64(sign)*r.MemoryMiB)
	u.DiskMiB = max(0, u.DiskMiB+int64(sign)*r.StorageMiB)
	u.NetworkMbps = max(0, u.NetworkMbps+int64(sign)*r.NetworkMbps)
}

// unlimited stands for a disk or network capacity the host does not report.
const unlimited = math.MaxInt64 / 4

// schedAllocatable is what h offers under c's overcommit ratios, in the
// scheduler's units. Disk and network count only where the host reports
// them.
func schedAllocatable(h store.Host, c store.Cluster) scheduler.Resources {
	orUnlimited := func(v int64) int64 {
		if v == 0 {
			return unlimited
		}
		return v
	}
	return scheduler.Resources{
		MilliCPU:    int64(math.Floor(h.Capacity.CPU*c.CPUOvercommit*1000 + 1e-6)),
		MemoryMiB:   int64(math.Floor(float64(h.Capacity.MemoryMiB)*c.MemoryOvercommit + 1e-6)),
		DiskMiB:     orUnlimited(h.Capacity.DiskMiB),
		NetworkMbps: orUnlimited(h.Capacity.NetworkMbps),
	}
}

// schedResources converts an amount to the scheduler's units.
func schedResources(cpu float64, mem, disk, net int64) scheduler.Resources {
	return scheduler.Resources{MilliCPU: int64(math.Round(cpu * 1000)), MemoryMiB: mem, DiskMiB: disk, NetworkMbps: net}
}

// roomFor reports whether r fits in what h has left under c's overcommit.
func roomFor(h store.Host, c store.Cluster, r store.Resources) bool {
	free := schedAllocatable(h, c).Sub(schedResources(h.Usage.CPU, h.Usage.MemoryMiB, h.Usage.DiskMiB, h.Usage.NetworkMbps))
	want := schedResources(r.CPU, r.MemoryMiB, r.StorageMiB, r.NetworkMbps)
	return want.MilliCPU <= free.MilliCPU && want.MemoryMiB <= free.MemoryMiB &&
		want.DiskMiB <= free.DiskMiB && want.NetworkMbps <= free.NetworkMbps
}

// schedHost converts a host for the scheduler.
func schedHost(h store.Host, c store.Cluster) scheduler.Host {
	sh := scheduler.Host{ID: h.ID, Zone: h.Zone, Arch: h.Arch, Labels: h.Labels, Drivers: availableDrivers(h),
		Allocatable: schedAllocatable(h, c), Used: schedResources(h.Usage.CPU, h.Usage.MemoryMiB, h.Usage.DiskMiB, h.Usage.NetworkMbps),
		IsolatedTenants: h.IsolatedTenants, IsolatedImages: h.IsolatedImages}
	if h.State != store.HostReady {
		sh.Unready = h.State
	}
	return sh
}

// schedPlaced converts a placed instance for the scheduler.
func schedPlaced(pl store.Placed) scheduler.Placed {
	return scheduler.Placed{ID: pl.ID, Priority: pl.Priority, HostPorts: pl.HostPorts,
		Resources: schedResources(pl.Resources.CPU, pl.Resources.MemoryMiB, pl.Resources.StorageMiB, pl.Resources.NetworkMbps),
		Group:     groupKey(pl.TenantID, pl.Group)}
}

// groupKey names a tenant's instance group across the cluster.
func groupKey(tenantID, group string) string {
	if group == "" {
		return ""
	}
	return tenantID + "/" + group
}

// schedRequest converts an instance for the scheduler.
func schedRequest(i *store.Instance) (scheduler.Request, error) {
	var spec struct {
		Arch string `json:"arch"`
	}
	if err := json.Unmarshal(i.Spec, &spec); err != nil {
		return scheduler.Request{}, fmt.Errorf("instance %s spec: %w", i.ID, err)
	}
	r := scheduler.Request{ID: i.ID, Tenant: i.TenantName, Image: i.Image, Driver: i.Driver, Arch: spec.Arch, Zone: i.Zone,
		Resources: schedResources(i.Resources.CPU, i.Resources.MemoryMiB, i.Resources.StorageMiB, i.Resources.NetworkMbps),
		Group:     groupKey(i.TenantID, i.Group), Priority: i.Priority, HostPorts: i.HostPorts}
	switch i.GroupPolicy {
	case store.GroupSameHost:
		r.Policy = scheduler.SameHost
	case store.GroupDifferentHost:
		r.Policy = scheduler.DifferentHost
	}
	for _, c := range i.Constraints {
		t, err := scheduler.ParseTerm(c)
		if err != nil {
			return scheduler.Request{}, err
		}
		r.Selector = append(r.Selector, t)
	}
	return r, nil
}

// availableDrivers lists the drivers h's agent said work.
func availableDrivers(h store.Host) []string {
	var reports []api.DriverReport
	if json.Unmarshal([]byte(h.Drivers), &reports) != nil {
		return nil
	}
	var names []string
	for _, r := range reports {
		if r.Available {
			names = append(names, r.Name)
		}
	}
	return names
}
