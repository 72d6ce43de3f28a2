package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func host(id string, cpu, mem int64) Host {
	return Host{ID: id, Drivers: []string{"process", "docker"}, Arch: "amd64", Zone: "a",
		Labels: map[string]string{}, Allocatable: Resources{MilliCPU: cpu, MemoryMiB: mem, DiskMiB: 1000, NetworkMbps: 1000}}
}

func TestFilters(t *testing.T) {
	small := Resources{MilliCPU: 500, MemoryMiB: 512}
	cases := []struct {
		name string
		host func() Host
		req  Request
		want Reason
	}{
		{"fits", func() Host { return host("h", 1000, 1024) }, Request{Resources: small}, Fits},
		{"down", func() Host { h := host("h", 1000, 1024); h.Unready = "down"; return h }, Request{Resources: small}, NotReady},
		{"cordoned", func() Host { h := host("h", 1000, 1024); h.Unready = "cordoned"; return h }, Request{Resources: small}, NotReady},
		{"draining", func() Host { h := host("h", 1000, 1024); h.Unready = "draining"; return h }, Request{Resources: small}, NotReady},
		{"cpu", func() Host { h := host("h", 1000, 1024); h.Used.MilliCPU = 600; return h }, Request{Resources: small}, NoCPU},
		{"memory", func() Host { return host("h", 1000, 256) }, Request{Resources: small}, NoMemory},
		{"disk", func() Host { return host("h", 1000, 1024) }, Request{Resources: Resources{DiskMiB: 2000}}, NoDisk},
		{"network", func() Host { return host("h", 1000, 1024) }, Request{Resources: Resources{NetworkMbps: 2000}}, NoNetwork},
		{"driver", func() Host { h := host("h", 1000, 1024); h.Drivers = []string{"process"}; return h }, Request{Driver: "docker"}, NoDriver},
		{"arch", func() Host { return host("h", 1000, 1024) }, Request{Arch: "arm64"}, WrongArch},
		{"zone", func() Host { return host("h", 1000, 1024) }, Request{Zone: "b"}, OtherZone},
		{"label equals", func() Host { h := host("h", 1000, 1024); h.Labels["disk"] = "ssd"; return h },
			Request{Selector: []Term{{Key: "disk", Op: Equals, Values: []string{"hdd"}}}}, LabelsMismatch},
		{"label in", func() Host { h := host("h", 1000, 1024); h.Labels["disk"] = "ssd"; return h },
			Request{Selector: []Term{{Key: "disk", Op: In, Values: []string{"hdd", "ssd"}}}}, Fits},
		{"label notin", func() Host { h := host("h", 1000, 1024); h.Labels["disk"] = "ssd"; return h },
			Request{Selector: []Term{{Key: "disk", Op: NotIn, Values: []string{"ssd"}}}}, LabelsMismatch},
		{"label not equals absent", func() Host { return host("h", 1000, 1024) },
			Request{Selector: []Term{{Key: "gpu", Op: NotEquals, Values: []string{"a100"}}}}, Fits},
		{"label exists", func() Host { return host("h", 1000, 1024) },
			Request{Selector: []Term{{Key: "gpu", Op: Exists}}}, LabelsMismatch},
		{"label not exists", func() Host { h := host("h", 1000, 1024); h.Labels["gpu"] = "a100"; return h },
			Request{Selector: []Term{{Key: "gpu", Op: NotExists}}}, LabelsMismatch},
		{"anti-affinity", func() Host { h := host("h", 1000, 1024); h.Placed = []Placed{{ID: "d1", Group: "db"}}; return h },
			Request{Group: "db", Policy: DifferentHost}, GroupHere},
		{"affinity elsewhere", func() Host { return host("h", 1000, 1024) },
			Request{Group: "db", Policy: SameHost, groupPlaced: true}, GroupElsewhere},
		{"affinity first member", func() Host { return host("h", 1000, 1024) },
			Request{Group: "db", Policy: SameHost}, Fits},
		{"isolated tenant", func() Host { h := host("h", 1000, 1024); h.IsolatedTenants = []string{"gold"}; return h },
			Request{Tenant: "bronze"}, Isolated},
		{"isolated image", func() Host { h := host("h", 1000, 1024); h.IsolatedImages = []string{"db:1"}; return h },
			Request{Image: "db:1"}, Fits},
		{"port taken", func() Host {
			h := host("h", 1000, 1024)
			h.Placed = []Placed{{ID: "w", HostPorts: []int{80, 443}}}
			return h
		},
			Request{HostPorts: []int{8080, 443}}, PortTaken},
		{"port taken, caller's map", func() Host { h := host("h", 1000, 1024); h.Ports = map[int]bool{22: true}; return h },
			Request{HostPorts: []int{22}}, PortTaken},
		{"port free", func() Host {
			h := host("h", 1000, 1024)
			h.Placed = []Placed{{ID: "w", HostPorts: []int{80}}}
			return h
		},
			Request{HostPorts: []int{8080}}, Fits},
		{"cpu before labels", func() Host { h := host("h", 1000, 1024); h.Used.MilliCPU = 1000; return h },
			Request{Resources: small, Zone: "b"}, NoCPU},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := []Host{c.host()}
			New(hs, Options{}) // derives groups and ports from Placed
			if got := feasible(&hs[0], &c.req); got != c.want {
				t.Fatalf("feasible = %q, want %q", got, c.want)
			}
		})
	}
}

func TestWeighers(t *testing.T) {
	// a has more cpu free, b more memory.
	hosts := func() []Host {
		a, b := host("a", 4000, 4096), host("b", 4000, 4096)
		a.Used = Resources{MilliCPU: 1000, MemoryMiB: 3072}
		b.Used = Resources{MilliCPU: 3000, MemoryMiB: 1024}
		return []Host{a, b}
	}
	// c is emptier than d on both.
	uneven := func() []Host {
		c, d := host("c", 4000, 4096), host("d", 4000, 4096)
		d.Used = Resources{MilliCPU: 2000, MemoryMiB: 2048}
		return []Host{c, d}
	}
	r := Request{ID: "x", Resources: Resources{MilliCPU: 500, MemoryMiB: 512}}
	cases := []struct {
		name  string
		hosts func() []Host
		opts  Options
		want  string
	}{
		{"spread", uneven, Options{}, "c"},
		{"binpack", uneven, Options{Strategy: Binpack}, "d"},
		{"spread on cpu", hosts, Options{CPUWeight: 1}, "a"},
		{"spread on memory", hosts, Options{MemoryWeight: 1}, "b"},
		{"spread mostly cpu", hosts, Options{CPUWeight: 3, MemoryWeight: 1}, "a"},
		{"spread mostly memory", hosts, Options{CPUWeight: 1, MemoryWeight: 3}, "b"},
		{"binpack on cpu", hosts, Options{Strategy: Binpack, CPUWeight: 1}, "b"},
		{"binpack on memory", hosts, Options{Strategy: Binpack, MemoryWeight: 1}, "a"},
		{"negative weight counts as zero", hosts, Options{CPUWeight: 1, MemoryWeight: -5}, "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.hosts(), c.opts)
			req := r
			if d := s.Place(&req); d.Host < 0 || s.Hosts()[d.Host].ID != c.want {
				t.Fatalf("chose host %d, want %s", d.Host, c.want)
			}
		})
	}
	t.Run("equal weights balance", func(t *testing.T) {
		// Once r is on it, a has 0.625 of its cpu and 0.125 of its memory
		// free, b 0.125 and 0.631: b by a hair.
		hs := hosts()
		hs[1].Used.MemoryMiB = 1000
		s := New(hs, Options{})
		req := r
		if d := s.Place(&req); d.Host != 1 {
			t.Fatalf("chose host %d, want b", d.Host)
		}
	})
	t.Run("group spreads", func(t *testing.T) {
		for _, strategy := range []Strategy{Spread, Binpack} {
			s := New([]Host{host("a", 4000, 4096), host("b", 4000, 4096), host("c", 4000, 4096)}, Options{Strategy: strategy, GroupWeight: 1})
			seen := map[int]bool{}
			for i := range 3 {
				web := &Request{ID: fmt.Sprintf("w%d", i), Group: "web", Resources: Resources{MilliCPU: 10, MemoryMiB: 10}}
				d := s.Place(web)
				if seen[d.Host] {
					t.Fatalf("strategy %d: member %d joined host %d", strategy, i, d.Host)
				}
				seen[d.Host] = true
				s.Commit(d.Host, web)
			}
		}
	})
}

func TestNewCommitRelease(t *testing.T) {
	a, b := host("a", 4000, 4096), host("b", 4000, 4096)
	b.Placed = []Placed{
		{ID: "small", Priority: 1, Resources: Resources{MilliCPU: 100, MemoryMiB: 100}, Group: "db", HostPorts: []int{5432}},
		{ID: "big", Priority: 1, Resources: Resources{MilliCPU: 1000, MemoryMiB: 100}, Group: "db"},
		{ID: "low", Priority: 0, Resources: Resources{MilliCPU: 100, MemoryMiB: 100}},
	}
	b.Used = Resources{MilliCPU: 1200, MemoryMiB: 300}
	callers := b.Placed
	s := New([]Host{a, b}, Options{})
	if s.Index("b") != 1 || s.Index("a") != 0 || s.Index("zz") != -1 {
		t.Fatalf("Index: a %d b %d zz %d", s.Index("a"), s.Index("b"), s.Index("zz"))
	}
	h := &s.Hosts()[1]
	if ids := placedIDs(h); ids != "low big small" {
		t.Fatalf("Placed in order %q, want low big small", ids)
	}
	if callers[0].ID != "small" {
		t.Fatal("New reordered the caller's slice")
	}
	if h.groups["db"] != 2 || s.groups["db"] != 2 || !h.Ports[5432] {
		t.Fatalf("derived groups %v, ports %v", h.groups, h.Ports)
	}
	r := &Request{ID: "web", Priority: 1, Resources: Resources{MilliCPU: 500, MemoryMiB: 500}, Group: "web", HostPorts: []int{80}}
	s.Commit(1, r)
	if ids := placedIDs(h); ids != "low big web small" || !h.Ports[80] || h.groups["web"] != 1 || h.Used.MilliCPU != 1700 {
		t.Fatalf("after Commit: %q ports %v groups %v used %+v", ids, h.Ports, h.groups, h.Used)
	}
	s.Release(1, &Request{ID: "small"})
	if ids := placedIDs(h); ids != "low big web" || h.Ports[5432] || h.groups["db"] != 1 || h.Used.MilliCPU != 1600 {
		t.Fatalf("after Release: %q ports %v groups %v used %+v", ids, h.Ports, h.groups, h.Used)
	}
	s.Release(1, r)
	if ids := placedIDs(h); ids != "low big" || h.Ports[80] || h.groups["web"] != 0 || s.groups["web"] != 0 || h.Used.MilliCPU != 1100 {
		t.Fatalf("after Release: %q ports %v groups %v used %+v", ids, h.Ports, h.groups, h.Used)
	}
	// An instance the snapshot counts in Used but does not list.
	s.Release(1, &Request{ID: "unlisted", Resources: Resources{MilliCPU: 100}, Group: "db"})
	if ids := placedIDs(h); ids != "low big" || h.groups["db"] != 1 || h.Used.MilliCPU != 1000 {
		t.Fatalf("after Release of an unlisted instance: %q groups %v used %+v", ids, h.groups, h.Used)
	}
}

// TestTalliesMatchNew: after any Commits and Releases, what the scheduler
// keeps per host and overall is what New derives from the same Placed.
func TestTalliesMatchNew(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New(genSnapshot(t), Options{})
		for i := range rapid.IntRange(1, 60).Draw(t, "ops") {
			k := rapid.IntRange(0, len(s.Hosts())-1).Draw(t, "host")
			h := &s.Hosts()[k]
			if len(h.Placed) > 0 && rapid.Bool().Draw(t, "release") {
				p := h.Placed[rapid.IntRange(0, len(h.Placed)-1).Draw(t, "victim")]
				s.Release(k, &Request{ID: p.ID})
				continue
			}
			r := genPreemptor(t)
			r.ID = fmt.Sprintf("c%d", i)
			if r.Priority = rapid.IntRange(0, 3).Draw(t, "cprio"); portsFree(h, r) {
				s.Commit(k, r)
			}
		}
		again := New(clone(s.Hosts()), Options{})
		// fmt prints nil and empty alike, and maps in key order.
		kept := func(h Host) string { return fmt.Sprint(h.levels, h.firstPrio, h.firstRes, h.most, h.groups, h.Ports) }
		for k := range s.Hosts() {
			if a, b := kept(s.Hosts()[k]), kept(again.Hosts()[k]); a != b {
				t.Fatalf("host %s kept %s, New derives %s", s.Hosts()[k].ID, a, b)
			}
		}
		if a, b := fmt.Sprint(s.groups, s.prios), fmt.Sprint(again.groups, again.prios); a != b {
			t.Fatalf("kept groups and priorities %s, New derives %s", a, b)
		}
	})
}

func placedIDs(h *Host) string {
	var ids []string
	for _, p := range h.Placed {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, " ")
}

// genHosts draws a snapshot of 1-30 hosts of mixed sizes.
func genHosts(t *rapid.T) []Host {
	n := rapid.IntRange(1, 30).Draw(t, "hosts")
	hs := make([]Host, n)
	for i := range hs {
		hs[i] = host(fmt.Sprintf("h%d", i), rapid.Int64Range(500, 16000).Draw(t, "cpu"), rapid.Int64Range(256, 65536).Draw(t, "mem"))
		if rapid.IntRange(0, 9).Draw(t, "ready") == 0 {
			hs[i].Unready = rapid.SampledFrom([]string{"down", "cordoned", "draining"}).Draw(t, "unready")
		}
	}
	return hs
}

func genRequest(t *rapid.T, i int) *Request {
	r := &Request{ID: fmt.Sprintf("r%d", i), Resources: Resources{
		MilliCPU: rapid.Int64Range(10, 4000).Draw(t, "rcpu"), MemoryMiB: rapid.Int64Range(16, 8192).Draw(t, "rmem")}}
	if rapid.Bool().Draw(t, "grouped") {
		r.Group = rapid.SampledFrom([]string{"db", "web"}).Draw(t, "group")
		r.Policy = GroupPolicy(rapid.IntRange(0, 2).Draw(t, "policy"))
	}
	return r
}

// TestNeverAboveAllocatable: whatever the requests and options, a host's
// usage never exceeds its allocatable resources, and every placement
// passed the filters.
func TestNeverAboveAllocatable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hs := genHosts(t)
		opts := Options{Strategy: Strategy(rapid.IntRange(0, 1).Draw(t, "strategy")), Seed: rapid.Uint64().Draw(t, "seed"),
			Sample: rapid.IntRange(0, 5).Draw(t, "sample"), GroupWeight: rapid.Float64Range(0, 1).Draw(t, "gw")}
		s := New(hs, opts)
		for i := range rapid.IntRange(1, 200).Draw(t, "requests") {
			r := genRequest(t, i)
			d := s.Place(r)
			if d.Host < 0 {
				continue
			}
			if why := feasible(&s.Hosts()[d.Host], r); why != Fits {
				t.Fatalf("placed on a host that does not fit: %s", why)
			}
			s.Commit(d.Host, r)
		}
		for _, h := range s.Hosts() {
			if h.Used.MilliCPU > h.Allocatable.MilliCPU || h.Used.MemoryMiB > h.Allocatable.MemoryMiB {
				t.Fatalf("host %s over allocatable: used %+v of %+v", h.ID, h.Used, h.Allocatable)
			}
		}
	})
}

// TestSameSeedSamePlacements: the same input and seed give the same
// placements.
func TestSameSeedSamePlacements(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hs := genHosts(t)
		var reqs []*Request
		for i := range rapid.IntRange(1, 100).Draw(t, "requests") {
			reqs = append(reqs, genRequest(t, i))
		}
		opts := Options{Seed: rapid.Uint64().Draw(t, "seed"), Sample: rapid.IntRange(0, 4).Draw(t, "sample"), GroupWeight: 0.5}
		run := func() []int {
			s := New(clone(hs), opts)
			var out []int
			for _, r := range reqs {
				c := *r
				d := s.Place(&c)
				out = append(out, d.Host)
				if d.Host >= 0 {
					s.Commit(d.Host, &c)
				}
			}
			return out
		}
		a, b := run(), run()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("request %d: host %d, then %d", i, a[i], b[i])
			}
		}
	})
}

func clone(hs []Host) []Host {
	out := make([]Host, len(hs))
	copy(out, hs)
	for i := range out {
		out[i].Placed = slices.Clone(out[i].Placed)
	}
	return out
}

func TestSimulateSmall(t *testing.T) {
	res := Simulate(SimOptions{Hosts: 50, Instances: 5000, Seed: 7})
	if res.Placed == 0 || res.EndCPUUsed > 1 || res.EndMemUsed > 1 || res.BoundCPUUsed > 1 || res.BoundMemUsed > 1 ||
		res.CPUUsed > res.EndCPUUsed {
		t.Fatalf("simulation %+v", res)
	}
	again := Simulate(SimOptions{Hosts: 50, Instances: 5000, Seed: 7})
	if again.Placed != res.Placed || again.BoundCPUUsed != res.BoundCPUUsed {
		t.Fatalf("same seed, different runs: %+v then %+v", res, again)
	}
}

func TestSimulatePreempt(t *testing.T) {
	plain := Simulate(SimOptions{Hosts: 50, Instances: 5000, Seed: 7})
	res := Simulate(SimOptions{Hosts: 50, Instances: 5000, Seed: 7, Preempt: true})
	if res.PreemptCalls == 0 || res.Preemptions == 0 || res.Preemptions > res.PreemptCalls || res.Evicted < res.Preemptions ||
		res.Replaced > res.Evicted || res.PreemptP99 < res.PreemptP50 || res.EndCPUUsed > 1 || res.EndMemUsed > 1 {
		t.Fatalf("simulation %+v", res)
	}
	if res.Placed > res.Requests || res.FirstFailure != plain.FirstFailure {
		t.Fatalf("placed %d of %d, first failure %d (%d without preemption)", res.Placed, res.Requests, res.FirstFailure, plain.FirstFailure)
	}
	if plain.PreemptCalls != 0 || plain.Evicted != 0 {
		t.Fatalf("preemption without Preempt: %+v", plain)
	}
}
