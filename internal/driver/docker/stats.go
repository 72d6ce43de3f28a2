package docker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Stats takes one sample of the container's cpu and memory use. Memory
// leaves out the inactive file cache, as `docker stats` does, since the
// kernel reclaims it before it would OOM-kill the container.
func (d *Driver) Stats(ctx context.Context, id string) (driver.Stats, error) {
	res, err := d.cli.ContainerStats(ctx, d.ref(id), client.ContainerStatsOptions{})
	if err != nil {
		return driver.Stats{}, fmt.Errorf("docker stats %s: %w", id, engineErr(err))
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return driver.Stats{}, fmt.Errorf("docker stats %s: decode: %w", id, err)
	}
	return driver.Stats{
		CPUNanos:    s.CPUStats.CPUUsage.TotalUsage,
		MemoryBytes: memoryInUse(s.MemoryStats),
		At:          s.Read,
	}, nil
}

// memoryInUse is the memory usage minus the inactive file cache: the key
// is total_inactive_file on cgroup v1 and inactive_file on v2.
func memoryInUse(m container.MemoryStats) uint64 {
	for _, key := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := m.Stats[key]; ok && v < m.Usage {
			return m.Usage - v
		}
	}
	return m.Usage
}
