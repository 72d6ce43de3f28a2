package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// placement places instances on hosts inside a write transaction and
// remembers which hosts' assignments changed, so that their agents can be
// woken once the transaction has committed.
//
// It places on the first ready host, in name order, that offers the
// instance's driver, matches its constraints and has room under the
// cluster's overcommit ratios. The scheduler issue replaces this choice.
type placement struct {
	tx      store.Tx
	touched map[string]bool
	events  []store.InstanceEvent
}

func newPlacement(tx store.Tx) *placement {
	return &placement{tx: tx, touched: map[string]bool{}}
}

// event records an instance event, written by flush.
func (p *placement) event(i *store.Instance, typ, hostID, format string, args ...any) {
	p.events = append(p.events, store.InstanceEvent{InstanceID: i.ID, Type: typ, HostID: hostID,
		Message: fmt.Sprintf(format, args...)})
}

// flush writes the recorded events and raises the assignment revision of
// every touched host.
func (p *placement) flush(ctx context.Context) error {
	if len(p.events) > 0 {
		if err := p.tx.AddInstanceEvents(ctx, p.events); err != nil {
			return err
		}
		p.events = nil
	}
	for _, id := range slices.Sorted(maps.Keys(p.touched)) {
		if _, err := p.tx.BumpAssignRevision(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// touch marks a host whose agent must look at its assignments again.
func (p *placement) touch(hostID string) { p.touched[hostID] = true }

// place finds a host for i and assigns it there, or leaves it pending with
// the reason in its message. It reports whether i was placed.
func (p *placement) place(ctx context.Context, i *store.Instance) (bool, error) {
	c, err := p.tx.GetCluster(ctx, i.ClusterID)
	if err != nil {
		return false, err
	}
	terms, err := constraintTerms(i.Constraints)
	if err != nil {
		return false, err
	}
	f := store.HostFilter{ClusterID: i.ClusterID, State: store.HostReady, Labels: terms, Page: store.Page{Limit: store.MaxPageLimit}}
	seen, noDriver, full := 0, 0, 0
	for {
		hosts, next, err := p.tx.ListHosts(ctx, f)
		if err != nil {
			return false, err
		}
		for _, h := range hosts {
			seen++
			switch {
			case !offersDriver(h, i.Driver):
				noDriver++
			case !fits(h, c, i.Resources):
				full++
			default:
				placed, err := p.assign(ctx, i, h.ID, c)
				if err != nil || placed {
					return placed, err
				}
				full++
			}
		}
		if next == "" {
			break
		}
		f.Token = next
	}
	msg := fmt.Sprintf("no ready host fits: %d match the constraints, %d of them lack a working %s driver, %d lack room",
		seen, noDriver, i.Driver, full)
	if i.Status != store.StatusPending || i.Message != msg {
		i.Status, i.Message = store.StatusPending, msg
		p.event(i, "pending", "", "%s", msg)
	}
	return false, p.tx.UpdateInstance(ctx, i)
}

// assign places i on host hostID, charges the host, and starts a new
// generation. It reads the host again first (locking its row on
// PostgreSQL, where the list was read without locks), and reports false
// when a concurrent placement has taken the room meanwhile.
func (p *placement) assign(ctx context.Context, i *store.Instance, hostID string, c store.Cluster) (bool, error) {
	h, err := p.tx.GetHost(ctx, hostID)
	if err != nil {
		return false, err
	}
	if h.State != store.HostReady || !fits(h, c, i.Resources) {
		return false, nil
	}
	addUsage(&h.Usage, i.Resources, 1)
	if err := p.tx.UpdateHost(ctx, &h); err != nil {
		return false, err
	}
	i.HostID, i.HostName = h.ID, h.Name
	i.Generation++
	i.Status, i.Message, i.ExitCode, i.OOMKilled, i.Restarts = store.StatusScheduled, "", nil, false, 0
	i.StartedAt = time.Time{}
	p.touch(h.ID)
	p.event(i, "scheduled", h.ID, "placed on host %s", h.Name)
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

// fits reports whether r fits in what h has left under c's overcommit.
// Disk and network count only where the host reports them.
func fits(h store.Host, c store.Cluster, r store.Resources) bool {
	capOK := func(capacity, used, want int64) bool { return capacity == 0 || used+want <= capacity }
	return h.Usage.CPU+r.CPU <= h.Capacity.CPU*c.CPUOvercommit+1e-9 &&
		float64(h.Usage.MemoryMiB+r.MemoryMiB) <= float64(h.Capacity.MemoryMiB)*c.MemoryOvercommit &&
		capOK(h.Capacity.DiskMiB, h.Usage.DiskMiB, r.StorageMiB) &&
		capOK(h.Capacity.NetworkMbps, h.Usage.NetworkMbps, r.NetworkMbps)
}

// offersDriver reports whether h's agent said its driver works.
func offersDriver(h store.Host, driver string) bool {
	var reports []api.DriverReport
	if json.Unmarshal([]byte(h.Drivers), &reports) != nil {
		return false
	}
	return slices.ContainsFunc(reports, func(r api.DriverReport) bool { return r.Name == driver && r.Available })
}

// constraintTerms parses stored constraint terms.
func constraintTerms(raw []string) ([]store.LabelTerm, error) {
	terms := make([]store.LabelTerm, len(raw))
	for n, s := range raw {
		t, err := store.ParseLabelTerm(s)
		if err != nil {
			return nil, err
		}
		terms[n] = t
	}
	return terms, nil
}
