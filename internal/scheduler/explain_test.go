package scheduler

import (
	"fmt"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func TestExplain(t *testing.T) {
	zoneB := []Term{{Key: "zone", Op: Equals, Values: []string{"b"}}}
	many := func(n int, h func(i int) Host) []Host {
		hs := make([]Host, n)
		for i := range hs {
			hs[i] = h(i)
		}
		return hs
	}
	cases := []struct {
		name     string
		hosts    []Host
		req      Request
		findings []Finding
		fit      int
		summary  string
	}{
		{"memory, labels, cordoned", append(append(
			many(6, func(i int) Host {
				h := host(fmt.Sprint("m", i), 4000, 3000+int64(i))
				h.Used.MemoryMiB = int64(i)
				return h
			}),
			many(3, func(i int) Host { return host(fmt.Sprint("l", i), 4000, 8192) })...),
			func() Host { h := host("c", 4000, 8192); h.Unready = "cordoned"; return h }()),
			Request{Resources: Resources{MilliCPU: 1000, MemoryMiB: 4096}, Selector: zoneB},
			[]Finding{{NoMemory, 6, "needs 4096 MiB, best host has 3000"}, {LabelsMismatch, 3, "zone=b"}, {NotReady, 1, "cordoned"}}, 0,
			"10 hosts: 6 insufficient memory (needs 4096 MiB, best host has 3000), 3 labels not matched (zone=b), 1 not ready (cordoned)"},
		{"cpu in cores", []Host{
			func() Host { h := host("a", 1000, 1024); h.Used.MilliCPU = 250; return h }(),
			func() Host { h := host("b", 1000, 1024); h.Used.MilliCPU = 1500; return h }(),
		}, Request{Resources: Resources{MilliCPU: 2500}},
			[]Finding{{NoCPU, 2, "needs 2.5 cpu, best host has 0.75"}}, 0,
			"2 hosts: 2 insufficient cpu (needs 2.5 cpu, best host has 0.75)"},
		{"cpu to the millicore", []Host{host("a", 1001, 1024)},
			Request{Resources: Resources{MilliCPU: 1234}},
			[]Finding{{NoCPU, 1, "needs 1.234 cpu, best host has 1.001"}}, 0,
			"1 host: 1 insufficient cpu (needs 1.234 cpu, best host has 1.001)"},
		{"disk and network", []Host{host("a", 1000, 1024), host("b", 1000, 1024), host("c", 1000, 1024)},
			Request{Resources: Resources{DiskMiB: 600, NetworkMbps: 2000}},
			[]Finding{{NoNetwork, 3, "needs 2000 Mbps, best host has 1000"}}, 0,
			"3 hosts: 3 insufficient network (needs 2000 Mbps, best host has 1000)"},
		{"disk", []Host{func() Host { h := host("a", 1000, 1024); h.Used.DiskMiB = 700; return h }(), host("b", 1000, 1024)},
			Request{Resources: Resources{DiskMiB: 600}},
			[]Finding{{NoDisk, 1, "needs 600 MiB, best host has 300"}}, 1,
			"2 hosts: 1 fit, 1 insufficient disk (needs 600 MiB, best host has 300)"},
		{"states apart", []Host{
			func() Host { h := host("a", 1000, 1024); h.Unready = "down"; return h }(),
			func() Host { h := host("b", 1000, 1024); h.Unready = "draining"; return h }(),
			func() Host { h := host("c", 1000, 1024); h.Unready = "down"; return h }(),
		}, Request{}, []Finding{{NotReady, 2, "down"}, {NotReady, 1, "draining"}}, 0,
			"3 hosts: 2 not ready (down), 1 not ready (draining)"},
		{"first failing term", []Host{
			func() Host { h := host("a", 1000, 1024); h.Labels["disk"] = "ssd"; return h }(),
			host("b", 1000, 1024),
			func() Host { h := host("c", 1000, 1024); h.Labels["disk"] = "ssd"; h.Labels["gpu"] = "a100"; return h }(),
		}, Request{Selector: []Term{{Key: "disk", Op: In, Values: []string{"ssd", "nvme"}}, {Key: "gpu", Op: Exists}}},
			[]Finding{{LabelsMismatch, 1, "disk in (ssd,nvme)"}, {LabelsMismatch, 1, "gpu"}}, 1,
			"3 hosts: 1 fit, 1 labels not matched (disk in (ssd,nvme)), 1 labels not matched (gpu)"},
		{"no detail", []Host{
			func() Host { h := host("a", 1000, 1024); h.Drivers = []string{"qemu"}; return h }(),
			func() Host {
				h := host("b", 1000, 1024)
				h.Placed = []Placed{{ID: "x", HostPorts: []int{80}}}
				return h
			}(),
			func() Host { h := host("c", 1000, 1024); h.Zone = "b"; return h }(),
		}, Request{Driver: "process", Zone: "a", HostPorts: []int{80}},
			[]Finding{{NoDriver, 1, ""}, {PortTaken, 1, ""}, {OtherZone, 1, ""}}, 0,
			"3 hosts: 1 driver not offered, 1 host port already in use, 1 other availability zone"},
		{"all fit", []Host{host("a", 1000, 1024)}, Request{}, nil, 1, "1 host: 1 fit"},
		{"no hosts", nil, Request{}, nil, 0, "0 hosts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.hosts, Options{})
			r := c.req
			e := s.Explain(&r)
			if e.Hosts != len(c.hosts) || e.Fit != c.fit || !reflect.DeepEqual(e.Findings, c.findings) {
				t.Fatalf("Explain: %d hosts, %d fit, %+v; want %d fit, %+v", e.Hosts, e.Fit, e.Findings, c.fit, c.findings)
			}
			if e.String() != c.summary {
				t.Fatalf("String = %q\nwant     %q", e.String(), c.summary)
			}
			if e.Preemption.Host != -1 {
				t.Fatalf("a preemption for a request of priority 0: %+v", e.Preemption)
			}
		})
	}
}

func TestExplainPreemption(t *testing.T) {
	hosts := func() []Host {
		return []Host{full("a", inst("a1", 0, 2000), inst("a2", 5, 2000)), full("b", inst("b1", 1, 3000))}
	}
	r := Request{ID: "r", Priority: 2, Resources: Resources{MilliCPU: 2000, MemoryMiB: 100}}
	e := New(hosts(), Options{}).Explain(&r)
	if e.Fit != 0 || e.Preemption.Host != 0 || len(e.Preemption.Victims) != 1 || e.Preemption.Victims[0].ID != "a1" {
		t.Fatalf("Explain: %d fit, %+v; want a1 evicted on a", e.Fit, e.Preemption)
	}
	if want := "2 hosts: 2 insufficient cpu (needs 2 cpu, best host has 1)"; e.String() != want {
		t.Fatalf("String = %q, want %q", e.String(), want)
	}
	low := r
	low.Priority = 0
	if e := New(hosts(), Options{}).Explain(&low); e.Preemption.Host != -1 {
		t.Fatalf("priority 0 got a preemption: %+v", e.Preemption)
	}
	small := r
	small.Resources.MilliCPU = 500
	if e := New(hosts(), Options{}).Explain(&small); e.Fit != 1 || e.Preemption.Host != -1 {
		t.Fatalf("a request that fits: %d fit, %+v", e.Fit, e.Preemption)
	}
}

func TestPlaceNoRoom(t *testing.T) {
	hs := []Host{host("a", 1000, 1000), host("b", 1000, 100), host("c", 1000, 1000)}
	hs[2].Unready = "down"
	s := New(hs, Options{})
	r := &Request{ID: "x", Resources: Resources{MilliCPU: 2000, MemoryMiB: 500}}
	if d := s.Place(r); d.Host != -1 || d.Reasons[NoRoom] != 3 {
		t.Fatalf("Place = %+v, want every host under NoRoom", d)
	}
	r.Resources.MilliCPU = 500
	if d := s.Place(r); d.Host != 0 || d.Looked != 3 || d.Reasons[NoMemory] != 1 || d.Reasons[NotReady] != 1 {
		t.Fatalf("Place = %+v, want host a and one host per reason", d)
	}
}

// TestExplainAgreesWithPlace: Explain accounts for every host, finds a
// fit exactly when Place does, and, when Place looks at every host, counts
// the same reasons.
func TestExplainAgreesWithPlace(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hs := genSnapshot(t)
		s := New(hs, Options{Seed: rapid.Uint64().Draw(t, "seed")})
		r := genPreemptor(t)
		e := s.Explain(r)
		n := e.Fit
		reasons := map[Reason]int{}
		for _, f := range e.Findings {
			n += f.Hosts
			reasons[f.Reason] += f.Hosts
		}
		if n != len(hs) || e.Hosts != len(hs) {
			t.Fatalf("Explain accounts for %d hosts (Hosts %d) of %d", n, e.Hosts, len(hs))
		}
		d := s.Place(r)
		if (d.Host >= 0) != (e.Fit > 0) {
			t.Fatalf("Place chose %d, Explain says %d fit", d.Host, e.Fit)
		}
		if d.Reasons[NoRoom] == 0 && d.Looked == len(hs) && !reflect.DeepEqual(d.Reasons, reasons) && len(reasons) > 0 {
			t.Fatalf("Place counts %v, Explain %v", d.Reasons, reasons)
		}
		if e.Fit > 0 && e.Preemption.Host != -1 {
			t.Fatalf("a preemption for a request that fits: %+v", e.Preemption)
		}
	})
}
