package agent

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/agent/health"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// InstanceLabel is the label every instance's driver resources carry, with
// the instance ID as value.
const InstanceLabel = "nimbus.instance"

// Defaults of the instance spec (the API's schema defaults) for fields the
// server left out.
const (
	defaultCPU       = 0.1
	defaultMemoryMiB = 128
)

// driverSpec translates an assignment into what a driver runs.
func driverSpec(a api.Assignment) driver.Spec {
	s := a.Spec
	spec := driver.Spec{
		ID:        a.ID,
		Name:      a.Name,
		Image:     deref(s.Image),
		WorkDir:   deref(s.Workdir),
		MilliCPU:  int64(math.Round(derefOr(s.CPU, defaultCPU) * 1000)),
		MemoryMiB: derefOr(s.MemoryMib, defaultMemoryMiB),
		Labels:    maps.Clone(a.Labels),
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[InstanceLabel] = a.ID
	if s.Command != nil {
		spec.Command = slices.Clone(*s.Command)
	}
	if s.Env != nil {
		for _, k := range slices.Sorted(maps.Keys(*s.Env)) {
			spec.Env = append(spec.Env, k+"="+(*s.Env)[k])
		}
	}
	if s.Ports != nil {
		for _, p := range *s.Ports {
			proto := "tcp"
			if p.Protocol != nil {
				proto = string(*p.Protocol)
			}
			spec.Ports = append(spec.Ports, driver.Port{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto})
		}
	}
	if s.Volumes != nil {
		for _, v := range *s.Volumes {
			spec.Volumes = append(spec.Volumes, driver.Volume{Source: v.Source, Target: v.Target, ReadOnly: derefOr(v.ReadOnly, false)})
		}
	}
	return spec
}

// restartPolicy is an instance's restart policy with the API's defaults.
type restartPolicy struct {
	policy     api.RestartPolicyPolicy
	maxRetries int // 0: no limit
	backoff    time.Duration
	maxBackoff time.Duration
}

// policyOf reads the restart policy of a spec.
func policyOf(s api.InstanceSpec) restartPolicy {
	p := restartPolicy{
		policy:     api.RestartPolicyPolicyOnFailure,
		backoff:    time.Second,
		maxBackoff: 30 * time.Second,
	}
	if r := s.Restart; r != nil {
		if r.Policy != nil {
			p.policy = *r.Policy
		}
		p.maxRetries = derefOr(r.MaxRetries, 0)
		p.backoff = time.Duration(derefOr(r.BackoffMs, 1000)) * time.Millisecond
		p.maxBackoff = time.Duration(derefOr(r.MaxBackoffMs, 30_000)) * time.Millisecond
	}
	return p
}

// restarts reports whether a run that ended (failed or not) is restarted.
func (p restartPolicy) restarts(failed bool) bool {
	switch p.policy {
	case api.RestartPolicyPolicyAlways:
		return true
	case api.RestartPolicyPolicyNever:
		return false
	default:
		return failed
	}
}

// delay is the wait before restart number n in a row (1 for the first):
// the back-off doubles each time, up to its maximum.
func (p restartPolicy) delay(n int) time.Duration {
	d := p.backoff
	for i := 1; i < n && d < p.maxBackoff; i++ {
		d *= 2
	}
	return min(d, max(p.maxBackoff, p.backoff))
}

// healthCheckOf reads the health check of a spec; false when it has none.
func healthCheckOf(s api.InstanceSpec) (health.Check, bool) {
	h := s.HealthCheck
	if h == nil || h.Type == nil || *h.Type == api.HealthCheckTypeNone {
		return health.Check{}, false
	}
	c := health.Check{
		Kind:        health.Kind(*h.Type),
		Port:        derefOr(h.Port, 0),
		Path:        derefOr(h.Path, "/"),
		Interval:    time.Duration(derefOr(h.IntervalSeconds, 10)) * time.Second,
		Timeout:     time.Duration(derefOr(h.TimeoutSeconds, 3)) * time.Second,
		Retries:     derefOr(h.Retries, 3),
		StartPeriod: time.Duration(derefOr(h.StartPeriodSeconds, 0)) * time.Second,
	}
	if h.Command != nil {
		c.Command = slices.Clone(*h.Command)
	}
	return c, true
}

// hostPorts maps the instance's tcp ports to their host ports.
func hostPorts(s api.InstanceSpec) map[int]int {
	m := map[int]int{}
	if s.Ports != nil {
		for _, p := range *s.Ports {
			if p.Protocol == nil || *p.Protocol == api.PortMappingProtocolTCP {
				m[p.ContainerPort] = p.HostPort
			}
		}
	}
	return m
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
