package agent

import (
	"context"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// statsTimeout bounds one driver.Stats call.
const statsTimeout = 5 * time.Second

// cpuMark is a cumulative cpu reading and when it was taken.
type cpuMark struct {
	cpuNanos uint64
	at       time.Time
}

// metricsLoop samples the host and every running instance each
// SampleInterval, for the next heartbeat.
func (a *Agent) metricsLoop(ctx context.Context) {
	log := a.cfg.Logger.With("component", "agent-metrics")
	host := hostSampler{procStat: "/proc/stat", memInfo: "/proc/meminfo"}
	marks := map[string]cpuMark{}
	t := time.NewTicker(a.cfg.SampleInterval)
	defer t.Stop()
	for {
		if s, err := host.sample(a.now()); err != nil {
			log.Debug("host sample", "err", err)
		} else if s != nil {
			a.addSample(*s)
		}
		a.sampleInstances(ctx, marks)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleInstances samples each running instance; marks holds the previous
// cpu reading of each, from which the cpu use is derived.
func (a *Agent) sampleInstances(ctx context.Context, marks map[string]cpuMark) {
	seen := map[string]bool{}
	for _, in := range a.instanceList() {
		if !in.isLive() {
			continue
		}
		drv, err := in.driver()
		if err != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, statsTimeout)
		st, err := drv.Stats(sctx, in.id)
		cancel()
		if err != nil {
			continue
		}
		seen[in.id] = true
		if st.At.IsZero() {
			st.At = a.now()
		}
		prev, ok := marks[in.id]
		marks[in.id] = cpuMark{st.CPUNanos, st.At}
		if !ok || st.CPUNanos < prev.cpuNanos || !st.At.After(prev.at) {
			continue // the first reading of a run gives no rate
		}
		id := in.id
		a.addSample(api.MetricSample{
			InstanceID:  &id,
			At:          st.At.UTC(),
			CPU:         cores(st.CPUNanos-prev.cpuNanos, st.At.Sub(prev.at)),
			MemoryBytes: int64(min(st.MemoryBytes, 1<<62)),
		})
	}
	for id := range marks {
		if !seen[id] {
			delete(marks, id)
		}
	}
	a.mu.Lock()
	for id := range a.latest {
		if id != "" && !seen[id] {
			delete(a.latest, id)
		}
	}
	a.mu.Unlock()
}

// cores is the cpu use of cpuNanos of cpu time over wall time.
func cores(cpuNanos uint64, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return float64(cpuNanos) / float64(wall.Nanoseconds())
}

// addSample buffers a sample for the next heartbeat and keeps it as the
// latest of its source.
func (a *Agent) addSample(s api.MetricSample) {
	key := ""
	if s.InstanceID != nil {
		key = *s.InstanceID
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.samples.add(s)
	a.latest[key] = s
}

// LatestSamples returns the latest metric sample of the host (InstanceID
// nil) and of each running instance.
func (a *Agent) LatestSamples() []api.MetricSample {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]api.MetricSample, 0, len(a.latest))
	for _, s := range a.latest {
		out = append(out, s)
	}
	return out
}
