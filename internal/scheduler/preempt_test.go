package scheduler

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// full is a host of 4000 millicores and 4096 MiB holding placed, with its
// usage summed from them.
func full(id string, placed ...Placed) Host {
	h := host(id, 4000, 4096)
	for _, p := range placed {
		h.Used = h.Used.Add(p.Resources)
	}
	h.Placed = placed
	return h
}

// inst is an instance of mc millicores and 100 MiB.
func inst(id string, prio int, mc int64) Placed {
	return Placed{ID: id, Priority: prio, Resources: Resources{MilliCPU: mc, MemoryMiB: 100}}
}

func TestPreempt(t *testing.T) {
	need := Resources{MilliCPU: 2000, MemoryMiB: 100}
	cases := []struct {
		name    string
		hosts   []Host
		req     Request
		host    string // "" for none
		victims []string
	}{
		{"fewest victims", []Host{
			full("a", inst("a1", 0, 1000), inst("a2", 0, 1000), inst("a3", 0, 1000), inst("a4", 0, 1000)),
			full("b", inst("b1", 1, 2000), inst("b2", 1, 2000)),
		}, Request{Priority: 2}, "b", []string{"b1"}},
		{"lowest highest priority", []Host{
			full("a", inst("a1", 1, 2000), inst("a2", 5, 2000)),
			full("b", inst("b1", 0, 2000), inst("b2", 5, 2000)),
		}, Request{Priority: 2}, "b", []string{"b1"}},
		{"lowest sum of priorities", []Host{
			full("a", inst("a1", 1, 1000), inst("a2", 1, 1000), inst("a3", 5, 2000)),
			full("b", inst("b1", 0, 1000), inst("b2", 1, 1000), inst("b3", 5, 2000)),
		}, Request{Priority: 2}, "b", []string{"b1", "b2"}},
		{"least waste", []Host{
			full("a", inst("a1", 0, 3000), inst("a2", 5, 1000)),
			full("b", inst("b1", 0, 2000), inst("b2", 5, 2000)),
		}, Request{Priority: 2}, "b", []string{"b1"}},
		{"never the same priority or higher", []Host{
			full("a", inst("a1", 2, 2000), inst("a2", 3, 2000)),
		}, Request{Priority: 2}, "", nil},
		{"not enough below", []Host{
			full("a", inst("a1", 0, 1000), inst("a2", 2, 3000)),
		}, Request{Priority: 2}, "", nil},
		{"reprieve", []Host{
			full("a", inst("a1", 0, 500), inst("a2", 1, 2000), inst("a3", 5, 1500)),
		}, Request{Priority: 2}, "a", []string{"a2"}},
		{"largest first", []Host{
			full("a", inst("a1", 0, 500), inst("a2", 0, 2000), inst("a3", 0, 1500)),
		}, Request{Priority: 2}, "a", []string{"a2"}},
		{"skips what frees nothing missing", []Host{
			full("a", Placed{ID: "a1", Resources: Resources{MemoryMiB: 1000}}, inst("a2", 1, 2000), inst("a3", 5, 2000)),
		}, Request{Priority: 2}, "a", []string{"a2"}},
		{"skips hosts the filters refuse", []Host{
			func() Host { h := full("a", inst("a1", 0, 2000), inst("a2", 5, 2000)); h.Zone = "b"; return h }(),
			func() Host {
				h := full("b", inst("b1", 0, 2000), inst("b2", 5, 2000))
				h.Unready = "cordoned"
				return h
			}(),
			func() Host {
				h := full("c", inst("c1", 0, 2000), inst("c2", 5, 2000))
				h.Placed[1].HostPorts = []int{80}
				return h
			}(),
			full("d", inst("d1", 1, 1000), inst("d2", 1, 1000), inst("d3", 5, 2000)),
		}, Request{Priority: 2, Zone: "a", HostPorts: []int{80}}, "d", []string{"d1", "d2"}},
		{"affinity keeps the group", []Host{
			func() Host {
				h := full("a", inst("a1", 0, 3000), inst("a2", 0, 1000))
				h.Placed[0].Group = "db"
				return h
			}(),
			full("b", inst("b1", 0, 2000), inst("b2", 5, 2000)),
		}, Request{Priority: 2, Group: "db", Policy: SameHost}, "", nil},
		{"disk", []Host{
			func() Host {
				h := full("a", Placed{ID: "a1", Resources: Resources{DiskMiB: 600}}, inst("a2", 0, 1000))
				h.Allocatable.DiskMiB = 1000
				return h
			}(),
		}, Request{Priority: 2, Resources: Resources{DiskMiB: 500}}, "a", []string{"a1"}},
		{"hosts that fit already are left out", []Host{
			full("a", inst("a1", 0, 1000)),
			full("b", inst("b1", 0, 3000)),
		}, Request{Priority: 2}, "b", []string{"b1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.hosts, Options{})
			r := c.req
			r.ID = "r"
			if r.Resources == (Resources{}) {
				r.Resources = need
			}
			p := s.Preempt(&r)
			var got string
			if p.Host >= 0 {
				got = s.Hosts()[p.Host].ID
			}
			var ids []string
			var freed Resources
			for _, v := range p.Victims {
				ids = append(ids, v.ID)
				freed = freed.Add(v.Resources)
			}
			if got != c.host || !slices.Equal(ids, c.victims) || freed != p.Freed {
				t.Fatalf("Preempt: host %q victims %v freed %+v, want host %q victims %v", got, ids, p.Freed, c.host, c.victims)
			}
		})
	}
}

// genSnapshot draws 1-12 hosts, mostly full, with instances of priorities 0-3 placed
// within their allocatable resources.
func genSnapshot(t *rapid.T) []Host {
	hs := make([]Host, rapid.IntRange(1, 12).Draw(t, "hosts"))
	n := 0
	for i := range hs {
		h := host(fmt.Sprintf("h%d", i), rapid.Int64Range(1000, 8000).Draw(t, "cpu"), rapid.Int64Range(1024, 16384).Draw(t, "mem"))
		if rapid.IntRange(0, 9).Draw(t, "ready") == 0 {
			h.Unready = "down"
		}
		h.Zone = rapid.SampledFrom([]string{"a", "b"}).Draw(t, "zone")
		for range rapid.IntRange(0, 15).Draw(t, "placed") {
			p := Placed{ID: fmt.Sprintf("p%d", n), Priority: rapid.IntRange(0, 3).Draw(t, "prio"), Resources: Resources{
				MilliCPU: rapid.Int64Range(0, 2000).Draw(t, "pcpu"), MemoryMiB: rapid.Int64Range(0, 3000).Draw(t, "pmem"),
				DiskMiB: rapid.Int64Range(0, 300).Draw(t, "pdisk")}}
			n++
			if rapid.IntRange(0, 3).Draw(t, "pgroup") == 0 {
				p.Group = "db"
			}
			if rapid.IntRange(0, 5).Draw(t, "pport") == 0 {
				p.HostPorts = []int{rapid.SampledFrom([]int{80, 443}).Draw(t, "port")}
			}
			if used := h.Used.Add(p.Resources); used.MilliCPU <= h.Allocatable.MilliCPU && used.MemoryMiB <= h.Allocatable.MemoryMiB &&
				used.DiskMiB <= h.Allocatable.DiskMiB && (len(p.HostPorts) == 0 || !slices.ContainsFunc(h.Placed, func(o Placed) bool {
				return slices.Equal(o.HostPorts, p.HostPorts)
			})) {
				h.Used, h.Placed = used, append(h.Placed, p)
			}
		}
		hs[i] = h
	}
	return hs
}

func genPreemptor(t *rapid.T) *Request {
	r := &Request{ID: "r", Priority: rapid.IntRange(0, 4).Draw(t, "rprio"), Resources: Resources{
		MilliCPU: rapid.Int64Range(0, 4000).Draw(t, "rcpu"), MemoryMiB: rapid.Int64Range(0, 8000).Draw(t, "rmem"),
		DiskMiB: rapid.Int64Range(0, 500).Draw(t, "rdisk")}}
	if rapid.IntRange(0, 3).Draw(t, "rzone") == 0 {
		r.Zone = "a"
	}
	if rapid.IntRange(0, 3).Draw(t, "rport") == 0 {
		r.HostPorts = []int{80}
	}
	if rapid.IntRange(0, 2).Draw(t, "rgroup") == 0 {
		r.Group, r.Policy = "db", GroupPolicy(rapid.IntRange(0, 2).Draw(t, "rpolicy"))
	}
	return r
}

// evictable sums what evicting every instance Preempt may take on h would
// free for r.
func evictable(h *Host, r *Request) Resources {
	var sum Resources
	for _, p := range h.Placed {
		if p.Priority < r.Priority && (r.Policy != SameHost || r.Group == "" || p.Group != r.Group) {
			sum = sum.Add(p.Resources)
		}
	}
	return sum
}

// TestPreemptProperties: Preempt changes nothing; its victims all have a
// lower priority than the request, are on the host, are each needed, and
// once released the request fits there; it picks the cheapest host; and
// when it finds none, evicting every lower-priority instance on any host
// that passes the other filters but lacks room would not make room.
func TestPreemptProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hs := genSnapshot(t)
		seed := rapid.Uint64().Draw(t, "seed")
		for range rapid.IntRange(1, 8).Draw(t, "requests") {
			checkPreempt(t, New(clone(hs), Options{Seed: seed}), genPreemptor(t))
		}
	})
}

// checkPreempt checks the properties for one request.
func checkPreempt(t *rapid.T, s *Scheduler, r *Request) {
	before := clone(s.Hosts())
	p := s.Preempt(r)
	if !reflect.DeepEqual(before, clone(s.Hosts())) {
		t.Fatal("Preempt changed the snapshot")
	}
	if p.Host < 0 {
		for i := range s.Hosts() {
			h := &s.Hosts()[i]
			if d := lack(h, r.Resources); h.Unready == "" && placement(h, r) == Fits && d.reason() != Fits && covers(evictable(h, r), d) {
				t.Fatalf("no preemption, yet evicting on %s would make room", h.ID)
			}
		}
		return
	}
	h := &s.Hosts()[p.Host]
	var freed Resources
	for _, v := range p.Victims {
		if v.Priority >= r.Priority {
			t.Fatalf("victim %s of priority %d for a request of priority %d", v.ID, v.Priority, r.Priority)
		}
		if !slices.ContainsFunc(h.Placed, func(o Placed) bool { return reflect.DeepEqual(o, v) }) {
			t.Fatalf("victim %s is not on %s", v.ID, h.ID)
		}
		freed = freed.Add(v.Resources)
	}
	if freed != p.Freed {
		t.Fatalf("Freed %+v, victims free %+v", p.Freed, freed)
	}
	d := lack(h, r.Resources)
	for _, v := range p.Victims {
		if covers(freed.Sub(v.Resources), d) {
			t.Fatalf("victim %s is not needed", v.ID)
		}
	}
	// No host is cheaper by the same victim choice (this checks the
	// pruning of hosts).
	want := cost{victims: len(p.Victims), waste: size(p.Freed)}
	for _, v := range p.Victims {
		want.top, want.sum = v.Priority, want.sum+v.Priority
	}
	for i := range s.Hosts() {
		o := &s.Hosts()[i]
		if o.Unready != "" || placement(o, r) != Fits || lack(o, r.Resources).reason() == Fits {
			continue
		}
		picked, freed, ok := pick(o, r, lack(o, r.Resources), nil)
		if !ok {
			continue
		}
		c := cost{victims: len(picked), waste: size(freed)}
		for _, k := range picked {
			c.top, c.sum = o.Placed[k].Priority, c.sum+o.Placed[k].Priority
		}
		if k := c.key(want); k < 0 || k == 0 && s.hash(r.ID, o.ID) > s.hash(r.ID, h.ID) {
			t.Fatalf("host %s is cheaper (%+v) than %s (%+v)", o.ID, c, h.ID, want)
		}
	}
	for _, v := range p.Victims {
		s.Release(p.Host, &Request{ID: v.ID})
	}
	if why := feasible(h, r); why != Fits {
		t.Fatalf("after evicting, %s does not fit: %s", h.ID, why)
	}
	s.Commit(p.Host, r)
	if h.Used.MilliCPU > h.Allocatable.MilliCPU || h.Used.MemoryMiB > h.Allocatable.MemoryMiB || h.Used.DiskMiB > h.Allocatable.DiskMiB {
		t.Fatalf("over allocatable: %+v of %+v", h.Used, h.Allocatable)
	}
}

// BenchmarkPreempt times Preempt on 10,000 full hosts of about 100
// instances each.
func BenchmarkPreempt(b *testing.B) {
	hs := SimHosts(10000, 1)
	s := New(hs, Options{Seed: 1})
	n := 0
	for i := range hs {
		for hs[i].Unready == "" {
			r := &Request{ID: fmt.Sprintf("p%d", n), Priority: n % 3, Resources: Resources{MilliCPU: 100 + int64(n%7)*50, MemoryMiB: 64 + int64(n%5)*64}}
			if feasible(&hs[i], r) != Fits {
				break
			}
			s.Commit(i, r)
			n++
		}
	}
	reqs := SimRequests(1000, 2)
	b.ResetTimer()
	for i := range b.N {
		r := reqs[i%len(reqs)]
		r.Priority = 1 + i%2
		s.Preempt(&r)
	}
	b.ReportMetric(float64(n)/float64(len(hs)), "placed/host")
}
