package server

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// The reconciler compares what should run with what agents report and acts:
//
//	every second ─▶ hosts silent past their cluster's timeout ─▶ down;
//	                their instances lost ─▶ placed again elsewhere
//	             ─▶ draining hosts ─▶ their next instance moved elsewhere
//	on a poke or every 10 s ─▶ pending instances, highest priority first ─▶
//	                placed when room appears (only if hosts or the pending
//	                set changed since the last pass: pending work waits, it
//	                does not spin)
//	every minute ─▶ raw samples rolled up into 5-minute averages, old ones pruned
//
// Only the server holding the "reconciler" lease acts, so several servers
// can share one database.
const (
	reconcileTick   = time.Second
	pendingInterval = 10 * time.Second
	metricsInterval = time.Minute
	leaseTTL        = 5 * time.Second
	rawRetention    = 24 * time.Hour
	rollupRetention = 7 * 24 * time.Hour
)

// Run runs the reconciler until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	tick := time.NewTicker(reconcileTick)
	defer tick.Stop()
	var lastPending, lastMetrics time.Time
	for {
		poked := false
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.wake.reconcile:
			poked = true
		}
		leader, err := s.lead(ctx)
		if err != nil || !leader {
			s.logPass(ctx, "lease", err)
			continue
		}
		s.logPass(ctx, "hosts", s.downHosts(ctx))
		s.logPass(ctx, "drain", s.drainHosts(ctx))
		if now := time.Now(); poked || now.Sub(lastPending) >= pendingInterval {
			lastPending = now
			s.logPass(ctx, "pending", s.placePending(ctx))
		}
		if now := time.Now(); now.Sub(lastMetrics) >= metricsInterval {
			lastMetrics = now
			s.logPass(ctx, "metrics", s.rollupMetrics(ctx, now))
		}
	}
}

func (s *Server) logPass(ctx context.Context, pass string, err error) {
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "reconcile", "pass", pass, "err", err)
	}
}

func (s *Server) lead(ctx context.Context) (bool, error) {
	var ok bool
	err := s.store.Write(ctx, func(tx store.Tx) error {
		var err error
		ok, err = tx.AcquireLease(ctx, "reconciler", s.holder, s.now(), leaseTTL)
		return err
	})
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	switch {
	case ok && s.leading.IsZero():
		s.leading = s.now()
	case !ok:
		s.leading = time.Time{}
	}
	return ok, err
}

// leaderSince is when this server took the reconciler lease (zero when it
// does not hold it).
func (s *Server) leaderSince() time.Time {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	return s.leading
}

// downHosts marks hosts down whose agents have been silent past their
// cluster's heartbeat timeout, and places their instances elsewhere. By
// then the agents have fenced them (see timings).
func (s *Server) downHosts(ctx context.Context) error {
	var silent []store.Host
	err := s.store.Read(ctx, func(tx store.Tx) error {
		clusters := map[string]store.Cluster{}
		f := store.HostFilter{Page: store.Page{Limit: store.MaxPageLimit}}
		now := s.now()
		for {
			hosts, next, err := tx.ListHosts(ctx, f)
			if err != nil {
				return err
			}
			for _, h := range hosts {
				if h.State == store.HostDown || h.LastHeartbeatAt.IsZero() {
					continue
				}
				c, ok := clusters[h.ClusterID]
				if !ok {
					if c, err = tx.GetCluster(ctx, h.ClusterID); err != nil {
						return err
					}
					clusters[h.ClusterID] = c
				}
				if s.silent(h, c, now) {
					silent = append(silent, h)
				}
			}
			if next == "" {
				return nil
			}
			f.Token = next
		}
	})
	if err != nil {
		return err
	}
	for _, h := range silent {
		if err := s.hostDown(ctx, h.ID); err != nil {
			return err
		}
	}
	return nil
}

// silent reports whether host h of cluster c is down at now: its agent has
// not reported for the cluster's heartbeat timeout T, the lease it was last
// granted has lapsed with time to spare for stopping its instances (2T/5,
// as in timings; this holds when T was just lowered), and this server has
// led the reconcilers for T (after an outage of the servers, agents get
// the time to report before their hosts are judged).
func (s *Server) silent(h store.Host, c store.Cluster, now time.Time) bool {
	margin := c.HeartbeatTimeout * 2 / 5
	return now.Sub(h.LastHeartbeatAt) > c.HeartbeatTimeout && now.After(h.LeaseUntil.Add(margin)) &&
		now.Sub(s.leaderSince()) > c.HeartbeatTimeout
}

// hostDown marks one host down, unless it reported in meanwhile.
func (s *Server) hostDown(ctx context.Context, hostID string) error {
	return s.placing(ctx, nil, func(tx store.Tx, p *placement) error {
		h, err := tx.GetHost(ctx, hostID)
		if err != nil {
			return err
		}
		c, err := tx.GetCluster(ctx, h.ClusterID)
		if err != nil {
			return err
		}
		silence := s.now().Sub(h.LastHeartbeatAt)
		if h.State == store.HostDown || !s.silent(h, c, s.now()) {
			return nil
		}
		h.State = store.HostDown
		if err := tx.UpdateHost(ctx, &h); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "host down", "host", h.Name, "silent_for", silence.Round(time.Millisecond).String())
		mine, err := hostInstances(ctx, tx, h.ID)
		if err != nil {
			return err
		}
		for _, i := range mine {
			i.Status = store.StatusLost
			p.event(i, "lost", h.ID, "host %s stopped reporting %s ago", h.Name, silence.Round(time.Second))
			if err := p.unassign(ctx, i); err != nil {
				return err
			}
			if i.Desired != store.DesiredRunning {
				i.Status, i.Message = store.StatusStopped, ""
				if err := tx.UpdateInstance(ctx, i); err != nil {
					return err
				}
				continue
			}
			if _, err := p.place(ctx, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// placePending tries to place every instance waiting for a host, highest
// priority first, then oldest first. It does nothing when neither the
// hosts nor the set of pending instances changed since a pass that placed
// nothing: a capacity change (a host joins, an instance ends or moves) is
// what can make room.
func (s *Server) placePending(ctx context.Context) error {
	var pending []store.Instance
	var seen uint64
	err := s.store.Read(ctx, func(tx store.Tx) error {
		f := store.InstanceFilter{Unplaced: true, Page: store.Page{Limit: store.MaxPageLimit}}
		for {
			list, next, err := tx.ListInstances(ctx, f)
			if err != nil {
				return err
			}
			pending = append(pending, list...)
			if next == "" {
				break
			}
			f.Token = next
		}
		if len(pending) == 0 {
			return nil
		}
		var err error
		seen, err = capacityPrint(ctx, tx, pending)
		return err
	})
	if err != nil || len(pending) == 0 || seen == s.pendingSeen.Load() {
		return err
	}
	slices.SortStableFunc(pending, func(a, b store.Instance) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	placed := false
	for _, pi := range pending {
		err := s.placing(ctx, nil, func(tx store.Tx, p *placement) error {
			i, err := tx.GetInstance(ctx, pi.ID)
			if err != nil || i.HostID != "" || i.Desired != store.DesiredRunning {
				return ignoreNotFound(err)
			}
			ok, err := p.place(ctx, &i)
			placed = placed || ok
			return err
		})
		if err != nil {
			return err
		}
	}
	if !placed {
		s.pendingSeen.Store(seen)
	}
	return nil
}

// capacityPrint hashes what placement depends on: every host's state,
// capacity, usage, labels, zone, reservations and drivers, and the pending
// instances.
func capacityPrint(ctx context.Context, tx store.Tx, pending []store.Instance) (uint64, error) {
	h := fnv.New64a()
	f := store.HostFilter{Page: store.Page{Limit: store.MaxPageLimit}}
	for {
		hosts, next, err := tx.ListHosts(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, host := range hosts {
			fmt.Fprintf(h, "%s %s %v %v %v %s %v %v %s\n", host.ID, host.State, host.Capacity, host.Usage,
				host.Labels, host.Zone, host.IsolatedTenants, host.IsolatedImages, host.Drivers)
		}
		if next == "" {
			break
		}
		f.Token = next
	}
	for _, i := range pending {
		fmt.Fprintf(h, "%s %d\n", i.ID, i.Generation)
	}
	return h.Sum64(), nil
}

// drainHosts moves the instances of draining hosts elsewhere, one by one.
func (s *Server) drainHosts(ctx context.Context) error {
	var draining []string
	err := s.store.Read(ctx, func(tx store.Tx) error {
		hosts, _, err := tx.ListHosts(ctx, store.HostFilter{State: store.HostDraining, Page: store.Page{Limit: store.MaxPageLimit}})
		for _, h := range hosts {
			draining = append(draining, h.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range draining {
		if err := s.drainStep(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// drainStep moves the next instance off a draining host, once the one it
// moved last runs on its new host (or has stopped trying to). The highest
// priority moves first. An instance no other host fits stays where it runs
// (its event says why) and the drain goes on with the others; an empty
// host ends its drain cordoned, as `nimbus host drain` promises.
func (s *Server) drainStep(ctx context.Context, hostID string) error {
	return s.placing(ctx, nil, func(tx store.Tx, p *placement) error {
		h, err := tx.GetHost(ctx, hostID)
		if err != nil || h.State != store.HostDraining {
			return ignoreNotFound(err)
		}
		if h.DrainInstance != "" {
			i, err := tx.GetInstance(ctx, h.DrainInstance)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err == nil && i.HostID != h.ID && i.Desired == store.DesiredRunning &&
				(i.Status == store.StatusScheduled || i.Status == store.StatusStarting) {
				return nil
			}
		}
		mine, err := hostInstances(ctx, tx, h.ID)
		if err != nil {
			return err
		}
		if len(mine) == 0 {
			h.State, h.DrainInstance = store.HostCordoned, ""
			s.log.InfoContext(ctx, "host drained", "host", h.Name)
			return tx.UpdateHost(ctx, &h)
		}
		order := slices.SortedFunc(maps.Values(mine), func(a, b *store.Instance) int {
			if a.Priority != b.Priority {
				return b.Priority - a.Priority
			}
			return strings.Compare(a.ID, b.ID)
		})
		for _, i := range order {
			sch, err := p.snapshot(ctx, i, false)
			if err != nil {
				return err
			}
			d := sch.sched.Place(&sch.req)
			if d.Host < 0 {
				msg := fmt.Sprintf("host %s is draining but no other host fits: %s", h.Name, sch.sched.Explain(&sch.req))
				// Said once per reason, not on every pass: the message
				// field is the agent's, which reports over it.
				if was, _ := s.drainNoted.Swap(i.ID, msg); was != msg {
					p.event(i, "drain_waiting", h.ID, "%s", msg)
				}
				continue
			}
			s.drainNoted.Delete(i.ID)
			to := sch.view.hosts[d.Host]
			if err := p.unassign(ctx, i); err != nil {
				return err
			}
			ok, err := p.assign(ctx, i, to.ID, fmt.Sprintf(", moved off draining host %s", h.Name))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("drain of %s: host %s lost the room meanwhile", h.Name, to.Name)
			}
			if h, err = tx.GetHost(ctx, hostID); err != nil {
				return err
			}
			h.DrainInstance = i.ID
			return tx.UpdateHost(ctx, &h)
		}
		return nil
	})
}

// rollupMetrics averages finished 5-minute buckets and prunes old samples.
func (s *Server) rollupMetrics(ctx context.Context, now time.Time) error {
	bucket := time.Duration(store.ResolutionRollup) * time.Second
	to := now.Truncate(bucket)
	return s.store.Write(ctx, func(tx store.Tx) error {
		if err := tx.RollupSamples(ctx, to.Add(-3*bucket), to); err != nil {
			return err
		}
		if _, err := tx.PruneSamples(ctx, store.ResolutionRaw, now.Add(-rawRetention)); err != nil {
			return err
		}
		_, err := tx.PruneSamples(ctx, store.ResolutionRollup, now.Add(-rollupRetention))
		return err
	})
}
