package scheduler

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func host(id string, cpu, mem int64) Host {
	return Host{ID: id, Ready: true, Drivers: []string{"process", "docker"}, Arch: "amd64", Zone: "a",
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
		{"not ready", func() Host { h := host("h", 1000, 1024); h.Ready = false; return h }, Request{Resources: small}, NotReady},
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
		{"anti-affinity", func() Host { h := host("h", 1000, 1024); h.groups = map[string]int{"db": 1}; return h },
			Request{Group: "db", Policy: DifferentHost}, GroupHere},
		{"affinity elsewhere", func() Host { return host("h", 1000, 1024) },
			Request{Group: "db", Policy: SameHost, groupPlaced: true}, GroupElsewhere},
		{"affinity first member", func() Host { return host("h", 1000, 1024) },
			Request{Group: "db", Policy: SameHost}, Fits},
		{"isolated tenant", func() Host { h := host("h", 1000, 1024); h.IsolatedTenants = []string{"gold"}; return h },
			Request{Tenant: "bronze"}, Isolated},
		{"isolated image", func() Host { h := host("h", 1000, 1024); h.IsolatedImages = []string{"db:1"}; return h },
			Request{Image: "db:1"}, Fits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.host()
			if h.groups == nil {
				h.groups = map[string]int{}
			}
			if got := feasible(&h, &c.req); got != c.want {
				t.Fatalf("feasible = %q, want %q", got, c.want)
			}
		})
	}
}

func TestStrategies(t *testing.T) {
	hosts := func() []Host {
		a, b := host("a", 4000, 4096), host("b", 4000, 4096)
		a.Used = Resources{MilliCPU: 2000, MemoryMiB: 2048}
		return []Host{a, b}
	}
	r := &Request{ID: "x", Resources: Resources{MilliCPU: 500, MemoryMiB: 512}}
	if d := New(hosts(), Options{Strategy: Spread}).Place(r); d.Host != 1 {
		t.Fatalf("spread chose host %d, want the emptier b", d.Host)
	}
	if d := New(hosts(), Options{Strategy: Binpack}).Place(r); d.Host != 0 {
		t.Fatalf("binpack chose host %d, want the fuller a", d.Host)
	}
	// Group spread: with equal hosts, the one without a member wins.
	hs := []Host{host("a", 4000, 4096), host("b", 4000, 4096)}
	s := New(hs, Options{Strategy: Spread, GroupWeight: 1})
	web := &Request{ID: "w1", Group: "web", Resources: Resources{MilliCPU: 10, MemoryMiB: 10}}
	first := s.Place(web).Host
	s.Commit(first, web)
	if second := s.Place(&Request{ID: "w2", Group: "web", Resources: web.Resources}).Host; second == first {
		t.Fatalf("group spread put both members on host %d", first)
	}
}

func TestExplainCountsReasons(t *testing.T) {
	hs := []Host{host("a", 1000, 1000), host("b", 1000, 100), host("c", 1000, 1000)}
	hs[2].Ready = false
	s := New(hs, Options{})
	r := &Request{ID: "x", Resources: Resources{MilliCPU: 2000, MemoryMiB: 500}}
	if d := s.Explain(r); d.Host != -1 || d.Looked != 3 || d.Reasons[NoCPU] != 2 || d.Reasons[NotReady] != 1 {
		t.Fatalf("explain %+v", d)
	}
	if d := s.Place(r); d.Host != -1 || d.Reasons[NoRoom] != 3 {
		t.Fatalf("place %+v", d)
	}
}

// genHosts draws a snapshot of 1-30 hosts of mixed sizes.
func genHosts(t *rapid.T) []Host {
	n := rapid.IntRange(1, 30).Draw(t, "hosts")
	hs := make([]Host, n)
	for i := range hs {
		hs[i] = host(fmt.Sprintf("h%d", i), rapid.Int64Range(500, 16000).Draw(t, "cpu"), rapid.Int64Range(256, 65536).Draw(t, "mem"))
		hs[i].Ready = rapid.IntRange(0, 9).Draw(t, "ready") > 0
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
		out[i].groups = map[string]int{}
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
