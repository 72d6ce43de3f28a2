package health

import (
	"context"
	"time"
)

// Change is a transition of an instance's health.
type Change int

// The transitions Observe reports.
const (
	// Unchanged: the instance's health is what it was.
	Unchanged Change = iota
	// BecameUnhealthy: Retries probes failed in a row.
	BecameUnhealthy
	// BecameHealthy: a probe succeeded after the instance was unhealthy.
	BecameHealthy
	// Passed: the run's first successful probe (it had not become
	// unhealthy): the run has started.
	Passed
	// Failing: the run's first failure that counts (after its start
	// period, before any success), short of Retries in a row: the start
	// period is over without a pass.
	Failing
)

// Monitor counts the failures in a row of one run of an instance. The zero
// value is not usable; use NewMonitor.
type Monitor struct {
	retries   int
	startEnds time.Time
	succeeded bool
	counted   bool // a failure has counted
	failures  int
	unhealthy bool
}

// NewMonitor returns a monitor of a run started at start: failures before
// start + c.StartPeriod do not count until a probe has succeeded.
func NewMonitor(c Check, start time.Time) *Monitor {
	return &Monitor{retries: max(c.Retries, 1), startEnds: start.Add(c.StartPeriod)}
}

// Observe records the result of a probe made at at (err nil for success)
// and reports the transition it causes.
func (m *Monitor) Observe(at time.Time, err error) Change {
	if err == nil {
		first := !m.succeeded
		m.succeeded = true
		m.failures = 0
		switch {
		case m.unhealthy:
			m.unhealthy = false
			return BecameHealthy
		case first:
			return Passed
		}
		return Unchanged
	}
	if !m.succeeded && at.Before(m.startEnds) {
		return Unchanged
	}
	firstCounted := !m.succeeded && !m.counted
	m.counted = true
	m.failures++
	switch {
	case !m.unhealthy && m.failures >= m.retries:
		m.unhealthy = true
		return BecameUnhealthy
	case firstCounted:
		return Failing
	}
	return Unchanged
}

// Watch probes t every c.Interval from start until ctx ends, and calls
// notify with each transition and the probe error that caused it (nil for
// BecameHealthy and Passed). now gives the time (time.Now when nil).
func Watch(ctx context.Context, c Check, t Target, start time.Time, now func() time.Time, notify func(Change, error)) {
	if now == nil {
		now = time.Now
	}
	m := NewMonitor(c, start)
	tick := time.NewTicker(max(c.Interval, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := Probe(ctx, c, t)
		if ctx.Err() != nil {
			return
		}
		if ch := m.Observe(now(), err); ch != Unchanged {
			notify(ch, err)
		}
	}
}
