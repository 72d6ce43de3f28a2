package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// SimOptions describe a simulated run: a fake cluster of mixed hosts and a
// stream of mixed requests, placed by the real scheduler code.
type SimOptions struct {
	Hosts     int
	Instances int
	Seed      uint64
	// Sample is Options.Sample: 0 scores every host.
	Sample   int
	Strategy Strategy
	// Preempt, when a request of priority above 0 finds no host, evicts
	// lower-priority instances for it (Preempt) and tries the victims once
	// more after the last request.
	Preempt bool
}

// SimResult is what a simulated run measured.
type SimResult struct {
	Hosts, Requests, Placed int
	Elapsed                 time.Duration
	// PerSecond counts every decision, refusals included; PlacedPerSecond
	// only the placements until the first request found no host (or the
	// end): the rate at which the cluster fills.
	PerSecond, PlacedPerSecond float64
	P50, P99                   time.Duration
	PeakHeapMiB                float64
	// CPUUsed and MemUsed are the shares of allocatable capacity in use
	// when the first request found no host (or at the end).
	CPUUsed, MemUsed float64
	// FirstFailure is the index of the first request that found no host,
	// -1 if none.
	FirstFailure int
	// EndCPUUsed and EndMemUsed are the shares in use once every request
	// has been tried.
	EndCPUUsed, EndMemUsed float64
	// BoundCPUUsed and BoundMemUsed are the shares best-fit-decreasing
	// fills with the same requests on the same hosts: the packing to
	// compare with.
	BoundCPUUsed, BoundMemUsed float64
	// Preemptions counts the requests placed by evicting others, Evicted
	// their victims and Replaced the victims placed again at the end.
	Preemptions, Evicted, Replaced int
	// PreemptCalls counts the calls to Preempt, which took PreemptP50 and
	// PreemptP99 each.
	PreemptCalls           int
	PreemptP50, PreemptP99 time.Duration
}

// SimHosts makes n hosts of mixed sizes, zones and labels.
func SimHosts(n int, seed uint64) []Host {
	rng := rand.New(rand.NewPCG(seed, 1))
	cores := []int64{8, 16, 32, 64}
	memPerCore := []int64{2048, 4096, 8192}
	zones := []string{"a", "b", "c"}
	hs := make([]Host, n)
	for i := range hs {
		c := cores[rng.IntN(len(cores))]
		labels := map[string]string{"disk": "hdd"}
		if rng.IntN(3) == 0 {
			labels["disk"] = "ssd"
		}
		if rng.IntN(10) == 0 {
			labels["gpu"] = "a100"
		}
		zone := zones[rng.IntN(len(zones))]
		var unready string
		if rng.IntN(100) == 0 {
			unready = "down"
		}
		hs[i] = Host{ID: fmt.Sprintf("host-%05d", i), Zone: zone, Arch: "amd64", Labels: labels,
			Drivers: []string{"process", "docker"}, Unready: unready,
			Allocatable: Resources{MilliCPU: c * 1000, MemoryMiB: c * memPerCore[rng.IntN(len(memPerCore))], DiskMiB: 1 << 20, NetworkMbps: 10000}}
	}
	return hs
}

// SimRequests makes n requests of mixed sizes, some with label selectors,
// zones and anti-affinity groups.
func SimRequests(n int, seed uint64) []Request {
	rng := rand.New(rand.NewPCG(seed, 2))
	cpus := []int64{100, 250, 500, 1000, 2000, 4000}
	mems := []int64{128, 256, 512, 1024, 2048, 4096, 8192}
	rs := make([]Request, n)
	for i := range rs {
		r := Request{ID: fmt.Sprintf("i-%07d", i), Driver: "process",
			Resources: Resources{MilliCPU: cpus[rng.IntN(len(cpus))], MemoryMiB: mems[rng.IntN(len(mems))]}, Priority: rng.IntN(3)}
		switch rng.IntN(10) {
		case 0:
			r.Selector = []Term{{Key: "disk", Op: Equals, Values: []string{"ssd"}}}
		case 1:
			r.Zone = []string{"a", "b", "c"}[rng.IntN(3)]
		case 2:
			r.Group, r.Policy = fmt.Sprintf("g%d", rng.IntN(n/3+1)), DifferentHost
		}
		rs[i] = r
	}
	return rs
}

// Simulate places the requests one by one and measures. Placed counts the
// requests on a host at the end. With Preempt, Elapsed, PerSecond and the
// decision times include the Preempt calls but not the victims' last try.
func Simulate(o SimOptions) SimResult {
	hosts := SimHosts(o.Hosts, o.Seed)
	reqs := SimRequests(o.Instances, o.Seed)
	res := SimResult{Hosts: o.Hosts, Requests: o.Instances, FirstFailure: -1}
	bound := slices.Clone(hosts)
	bestFitDecreasing(bound, reqs)
	res.BoundCPUUsed, res.BoundMemUsed = usage(bound)

	s := New(hosts, Options{Strategy: o.Strategy, Seed: o.Seed, Sample: o.Sample, GroupWeight: 0.5})
	times := make([]time.Duration, 0, len(reqs))
	var (
		ms           runtime.MemStats
		preemptTimes []time.Duration
		victims      []int              // requests evicted, in order
		byID         = map[string]int{} // request index by ID, with Preempt
	)
	if o.Preempt {
		for i := range reqs {
			byID[reqs[i].ID] = i
		}
	}
	start := time.Now()
	for i := range reqs {
		t0 := time.Now()
		d := s.Place(&reqs[i])
		if d.Host >= 0 {
			s.Commit(d.Host, &reqs[i])
			res.Placed++
		} else if res.FirstFailure < 0 {
			res.FirstFailure = i
			res.PlacedPerSecond = float64(i) / time.Since(start).Seconds()
			res.CPUUsed, res.MemUsed = usage(s.Hosts())
		}
		if d.Host < 0 && o.Preempt && reqs[i].Priority > 0 {
			t1 := time.Now()
			p := s.Preempt(&reqs[i])
			preemptTimes = append(preemptTimes, time.Since(t1))
			if p.Host >= 0 {
				for _, v := range p.Victims {
					s.Release(p.Host, &reqs[byID[v.ID]])
					victims = append(victims, byID[v.ID])
				}
				s.Commit(p.Host, &reqs[i])
				res.Preemptions++
				res.Evicted += len(p.Victims)
				res.Placed += 1 - len(p.Victims)
			}
		}
		times = append(times, time.Since(t0))
		if i%50000 == 0 {
			runtime.ReadMemStats(&ms)
			res.PeakHeapMiB = max(res.PeakHeapMiB, float64(ms.HeapInuse)/(1<<20))
		}
	}
	res.Elapsed = time.Since(start)
	for _, v := range victims {
		if d := s.Place(&reqs[v]); d.Host >= 0 {
			s.Commit(d.Host, &reqs[v])
			res.Replaced++
			res.Placed++
		}
	}
	res.EndCPUUsed, res.EndMemUsed = usage(s.Hosts())
	if res.FirstFailure < 0 {
		res.CPUUsed, res.MemUsed = res.EndCPUUsed, res.EndMemUsed
		res.PlacedPerSecond = float64(res.Placed) / res.Elapsed.Seconds()
	}
	res.PerSecond = float64(len(reqs)) / res.Elapsed.Seconds()
	slices.Sort(times)
	if len(times) > 0 {
		res.P50, res.P99 = times[len(times)/2], times[len(times)*99/100]
	}
	slices.Sort(preemptTimes)
	if res.PreemptCalls = len(preemptTimes); res.PreemptCalls > 0 {
		res.PreemptP50, res.PreemptP99 = preemptTimes[len(preemptTimes)/2], preemptTimes[len(preemptTimes)*99/100]
	}
	return res
}

// usage is the share of the ready hosts' cpu and memory in use.
func usage(hs []Host) (cpu, mem float64) {
	var used, alloc Resources
	for _, h := range hs {
		if h.Unready == "" {
			used, alloc = used.Add(h.Used), alloc.Add(h.Allocatable)
		}
	}
	return float64(used.MilliCPU) / float64(alloc.MilliCPU), float64(used.MemoryMiB) / float64(alloc.MemoryMiB)
}

// bestFitDecreasing places the requests, largest first (cores plus GiB/4),
// each on the ready host with the least free memory that fits it (cpu
// checked too), through buckets of free memory, and returns how many it
// placed. It ignores every filter but resources and readiness, so it packs
// at least as tightly as any placement that honours them could.
func bestFitDecreasing(hosts []Host, reqs []Request) int {
	const unit = 128 // MiB per bucket
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	size := func(r Resources) int64 { return r.MilliCPU + r.MemoryMiB/4 }
	slices.SortStableFunc(order, func(a, b int) int {
		return int(size(reqs[b].Resources) - size(reqs[a].Resources))
	})
	var buckets [][]int
	pos := make([]int, len(hosts)) // index of each host in its bucket
	put := func(h int) {
		b := int((hosts[h].Allocatable.MemoryMiB - hosts[h].Used.MemoryMiB) / unit)
		for len(buckets) <= b {
			buckets = append(buckets, nil)
		}
		pos[h] = len(buckets[b])
		buckets[b] = append(buckets[b], h)
	}
	take := func(h int) {
		b := int((hosts[h].Allocatable.MemoryMiB - hosts[h].Used.MemoryMiB) / unit)
		last := buckets[b][len(buckets[b])-1]
		buckets[b][pos[h]], pos[last] = last, pos[h]
		buckets[b] = buckets[b][:len(buckets[b])-1]
	}
	for h := range hosts {
		if hosts[h].Unready == "" {
			put(h)
		}
	}
	placed := 0
	for _, ri := range order {
		r := reqs[ri].Resources
		found := -1
		for b := int((r.MemoryMiB + unit - 1) / unit); b < len(buckets) && found < 0; b++ {
			for _, h := range buckets[b] {
				free := hosts[h].Allocatable.Sub(hosts[h].Used)
				if free.MemoryMiB >= r.MemoryMiB && free.MilliCPU >= r.MilliCPU {
					found = h
					break
				}
			}
		}
		if found < 0 {
			continue
		}
		take(found)
		hosts[found].Used = hosts[found].Used.Add(r)
		put(found)
		placed++
	}
	return placed
}
