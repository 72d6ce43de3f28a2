package server

import (
	"context"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// The reconciler compares what should run with what agents report and acts:
//
//	every second ─▶ hosts silent past their cluster's timeout ─▶ down;
//	                their instances lost ─▶ placed again elsewhere
//	on a poke or every 10 s ─▶ pending instances ─▶ placed when room appears
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

// placePending tries to place every instance waiting for a host.
func (s *Server) placePending(ctx context.Context) error {
	var ids []string
	err := s.store.Read(ctx, func(tx store.Tx) error {
		f := store.InstanceFilter{Unplaced: true, Page: store.Page{Limit: store.MaxPageLimit}}
		for {
			list, next, err := tx.ListInstances(ctx, f)
			if err != nil {
				return err
			}
			for _, i := range list {
				ids = append(ids, i.ID)
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
	for _, id := range ids {
		err := s.placing(ctx, nil, func(tx store.Tx, p *placement) error {
			i, err := tx.GetInstance(ctx, id)
			if err != nil || i.HostID != "" || i.Desired != store.DesiredRunning {
				return ignoreNotFound(err)
			}
			_, err = p.place(ctx, &i)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
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
