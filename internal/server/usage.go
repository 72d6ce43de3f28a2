package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// series reads the samples of object in [since, until): raw samples when
// the range starts within their 24-hour retention, 5-minute averages
// otherwise.
func (s *Server) series(ctx context.Context, tx store.Tx, objectID string, since, until *time.Time) (api.MetricSeries, error) {
	now := s.now()
	to := now
	if until != nil {
		to = *until
	}
	from := to.Add(-time.Hour)
	if since != nil {
		from = *since
	}
	if !from.Before(to) {
		return api.MetricSeries{}, problem.Invalid("since", "must be before until")
	}
	res := store.ResolutionRaw
	if from.Before(now.Add(-rawRetention)) {
		res = store.ResolutionRollup
	}
	samples, err := tx.ListSamples(ctx, objectID, res, from, to)
	if err != nil {
		return api.MetricSeries{}, err
	}
	out := api.MetricSeries{ResolutionSeconds: res, Points: make([]api.MetricPoint, len(samples))}
	for n, m := range samples {
		out.Points[n] = api.MetricPoint{At: m.At, CPU: m.CPU, MemoryBytes: m.MemoryBytes}
	}
	return out, nil
}

// GetHostMetrics answers a host's cpu and memory over time.
func (h handlers) GetHostMetrics(ctx context.Context, req api.GetHostMetricsRequestObject) (api.GetHostMetricsResponseObject, error) {
	var out api.MetricSeries
	err := h.store.Read(ctx, func(tx store.Tx) error {
		host, _, err := hostFor(ctx, tx, req.Name, PermHostRead)
		if err != nil {
			return err
		}
		out, err = h.series(ctx, tx, host.ID, req.Params.Since, req.Params.Until)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetHostMetrics200JSONResponse(out), nil
}

// GetInstanceMetrics answers an instance's cpu and memory over time.
func (h handlers) GetInstanceMetrics(ctx context.Context, req api.GetInstanceMetricsRequestObject) (api.GetInstanceMetricsResponseObject, error) {
	var out api.MetricSeries
	err := h.store.Read(ctx, func(tx store.Tx) error {
		i, err := instanceFor(ctx, tx, req.Name, req.Instance, PermInstanceRead)
		if err != nil {
			return err
		}
		out, err = h.series(ctx, tx, i.ID, req.Params.Since, req.Params.Until)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetInstanceMetrics200JSONResponse(out), nil
}

// usageCollector exposes the newest cpu and memory sample of every host and
// instance that reported in the last minute as Prometheus gauges.
type usageCollector struct{ s *Server }

var (
	hostCPUDesc = prometheus.NewDesc("nimbus_host_cpu_cores", "CPU cores in use on a host.", []string{"host"}, nil)
	hostMemDesc = prometheus.NewDesc("nimbus_host_memory_bytes", "Memory in use on a host.", []string{"host"}, nil)
	// Instances are labelled by ID only: /metrics answers without
	// credentials, and tenants' names and instance names are theirs.
	instCPUDesc = prometheus.NewDesc("nimbus_instance_cpu_cores", "CPU cores used by an instance.",
		[]string{"instance_id", "host"}, nil)
	instMemDesc = prometheus.NewDesc("nimbus_instance_memory_bytes", "Memory used by an instance.",
		[]string{"instance_id", "host"}, nil)
)

func (c usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hostCPUDesc, hostMemDesc, instCPUDesc, instMemDesc} {
		ch <- d
	}
}

func (c usageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.s.store.Read(ctx, func(tx store.Tx) error {
		samples, err := tx.LatestSamples(ctx, c.s.now().Add(-time.Minute))
		if err != nil {
			return err
		}
		hostNames := map[string]string{}
		f := store.HostFilter{Page: store.Page{Limit: store.MaxPageLimit}}
		for {
			hosts, next, err := tx.ListHosts(ctx, f)
			if err != nil {
				return err
			}
			for _, h := range hosts {
				hostNames[h.ID] = h.Name
			}
			if next == "" {
				break
			}
			f.Token = next
		}
		for _, m := range samples {
			if name, ok := hostNames[m.ObjectID]; ok {
				ch <- prometheus.MustNewConstMetric(hostCPUDesc, prometheus.GaugeValue, m.CPU, name)
				ch <- prometheus.MustNewConstMetric(hostMemDesc, prometheus.GaugeValue, float64(m.MemoryBytes), name)
				continue
			}
			i, err := tx.GetInstance(ctx, m.ObjectID)
			if err != nil {
				continue // deleted since it reported
			}
			ch <- prometheus.MustNewConstMetric(instCPUDesc, prometheus.GaugeValue, m.CPU, i.ID, i.HostName)
			ch <- prometheus.MustNewConstMetric(instMemDesc, prometheus.GaugeValue, float64(m.MemoryBytes), i.ID, i.HostName)
		}
		return nil
	})
	if err != nil {
		c.s.log.Warn("collect usage metrics", "err", err)
	}
}
