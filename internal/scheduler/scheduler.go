// Package scheduler chooses a host for an instance. It is a pure library
// over an in-memory snapshot of hosts and their allocations: no database,
// no locks, no I/O in its hot path, so one decision costs microseconds and
// can be measured on thousands of simulated hosts (`nimbus bench
// scheduler`).
//
//	request ──▶ candidates ──▶ filters ──────────────▶ weighers ──▶ best host
//	            (all hosts, or  ready, resources ×      cpu and memory
//	             a seeded        overcommit, driver,    (spread or
//	             sample)         arch, zone, labels,    binpack), plus
//	                             groups, isolation,     group spread;
//	                             host ports             ties by seed
//
// Filters say why a host does not fit; Place counts those reasons over the
// hosts it looked at, and Explain details them over every host, which is
// what `instance explain` shows. When no host fits a request, Preempt finds
// the cheapest set of lower-priority instances whose eviction makes room.
package scheduler

import (
	"cmp"
	"maps"
	"math"
	"math/bits"
	"slices"
)

// Resources is an amount of host resources.
type Resources struct {
	MilliCPU    int64
	MemoryMiB   int64
	DiskMiB     int64
	NetworkMbps int64
}

// Add returns r+o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.MilliCPU + o.MilliCPU, r.MemoryMiB + o.MemoryMiB, r.DiskMiB + o.DiskMiB, r.NetworkMbps + o.NetworkMbps}
}

// Sub returns r-o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.MilliCPU - o.MilliCPU, r.MemoryMiB - o.MemoryMiB, r.DiskMiB - o.DiskMiB, r.NetworkMbps - o.NetworkMbps}
}

// size weighs cpu and memory as one number, a core as 4 GiB: the order of
// best-fit-decreasing and of victims, and the waste of a preemption.
func size(r Resources) int64 { return r.MilliCPU + r.MemoryMiB/4 }

// Placed is an instance on a host, as preemption sees it.
type Placed struct {
	ID        string
	Priority  int
	Resources Resources
	Group     string
	HostPorts []int
}

// victimOrder orders instances as preemption takes them: lowest priority
// first, then largest, then by ID.
func victimOrder(a, b Placed) int {
	if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
		return c
	}
	if c := cmp.Compare(size(b.Resources), size(a.Resources)); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// Host is one host of the snapshot.
type Host struct {
	ID     string
	Zone   string
	Arch   string
	Labels map[string]string
	// Drivers lists the drivers the host's agent offers.
	Drivers []string
	// Unready says why the host takes no instances ("down", "cordoned", "draining"); empty when it is ready.
	Unready string
	// Allocatable is capacity times the cluster's overcommit ratios.
	Allocatable Resources
	Used        Resources
	// Placed lists the host's instances. New copies it and keeps it in the
	// order preemption takes victims: lowest priority first, then largest.
	Placed []Placed
	// firstPrio and firstRes are those of Placed[0], the first candidate
	// victim, and most the most of each resource any one instance in
	// Placed has: kept beside Used for Preempt's pass over every host.
	firstPrio int
	firstRes  Resources
	most      Resources
	// Ports are the host ports in use: New adds those of Placed, Commit
	// and Release keep them.
	Ports map[int]bool
	// IsolatedTenants and IsolatedImages, when not empty, reserve the host
	// for those tenants or images.
	IsolatedTenants []string
	IsolatedImages  []string
	// groups counts the host's instances per instance group.
	groups map[string]int
	// levels tallies the host's instances per priority.
	levels levels
}

// GroupPolicy says how an instance relates to the others of its group.
type GroupPolicy int

// Group policies (Nova's SameHostFilter and DifferentHostFilter).
const (
	NoGroupPolicy GroupPolicy = iota
	SameHost                  // affinity: on a host that has one of the group
	DifferentHost             // anti-affinity: never beside one of the group
)

// Request is an instance to place.
type Request struct {
	ID        string
	Tenant    string
	Image     string
	Driver    string
	Arch      string
	Zone      string
	Resources Resources
	Selector  []Term
	Group     string
	Policy    GroupPolicy
	Priority  int
	HostPorts []int
	// groupPlaced is set by Place, Explain and Preempt: some member of
	// Group is on a host.
	groupPlaced bool
}

// Strategy orders the hosts that fit.
type Strategy int

// Strategies.
const (
	Spread  Strategy = iota // the emptiest host first
	Binpack                 // the fullest host first
)

// Options tune a Scheduler.
type Options struct {
	Strategy Strategy
	// Seed makes tie-breaking and sampling repeatable.
	Seed uint64
	// Sample, when positive, stops looking after that many hosts that fit
	// (visited from a seeded start, as Nomad and kube-scheduler do); 0
	// looks at every host. Limit(n) is a good value.
	Sample int
	// CPUWeight and MemoryWeight weigh the free share of cpu and of memory
	// in the strategy's score; both zero means 1 and 1, negative means 0.
	CPUWeight, MemoryWeight float64
	// GroupWeight is how much spreading a group across hosts counts beside
	// the strategy (0..1).
	GroupWeight float64
}

// Limit is the number of hosts worth scoring among n: max(2, ceil(log2 n)),
// Nomad's choice for services, times two.
func Limit(n int) int {
	if n <= 2 {
		return 2
	}
	return 2 * max(2, bits.Len(uint(n-1)))
}

// Scheduler places requests on a snapshot of hosts. It is not safe for
// concurrent use.
type Scheduler struct {
	hosts []Host
	opts  Options
	// cpuW and memW are the strategy's weights, summing to 1.
	cpuW, memW float64
	// index maps host IDs to indexes.
	index map[string]int
	// groups counts each group's placed members over all hosts.
	groups map[string]int
	// prios counts the placed instances per priority over all hosts.
	prios map[int]int
	free  *freeTree
}

// New makes a scheduler over hosts (which it keeps and updates), deriving
// each host's group members and ports from its Placed.
func New(hosts []Host, opts Options) *Scheduler {
	s := &Scheduler{hosts: hosts, opts: opts, index: make(map[string]int, len(hosts)), groups: map[string]int{}, prios: map[int]int{}}
	cw, mw := max(opts.CPUWeight, 0), max(opts.MemoryWeight, 0)
	if cw+mw == 0 {
		cw, mw = 1, 1
	}
	s.cpuW, s.memW = cw/(cw+mw), mw/(cw+mw)
	for i := range hosts {
		h := &hosts[i]
		if _, dup := s.index[h.ID]; !dup {
			s.index[h.ID] = i
		}
		h.Ports = maps.Clone(h.Ports)
		h.Placed = slices.Clone(h.Placed)
		slices.SortFunc(h.Placed, victimOrder)
		h.groups, h.levels, h.firstPrio, h.firstRes, h.most = nil, nil, 0, Resources{}, Resources{}
		for _, p := range h.Placed {
			s.note(h, p, 1)
		}
	}
	s.free = newFreeTree(hosts)
	return s
}

// Hosts returns the snapshot with its current usage.
func (s *Scheduler) Hosts() []Host { return s.hosts }

// Index returns the index of the host with that ID, -1 if none.
func (s *Scheduler) Index(id string) int {
	if i, ok := s.index[id]; ok {
		return i
	}
	return -1
}

// Decision is the outcome of Place.
type Decision struct {
	// Host is the index of the chosen host, -1 when none fits.
	Host int
	// Looked is how many hosts were examined.
	Looked int
	// Reasons counts, per reason, the hosts that did not fit.
	Reasons map[Reason]int
}

// Place chooses a host for r without changing anything; Commit records the
// choice. When no host has the room, it answers at once with every host
// counted under NoRoom; Explain gives the reasons host by host.
func (s *Scheduler) Place(r *Request) Decision {
	if !s.free.mayFit(r.Resources) {
		return Decision{Host: -1, Reasons: map[Reason]int{NoRoom: len(s.hosts)}}
	}
	d := Decision{Host: -1}
	s.prepare(r)
	n := len(s.hosts)
	sample := s.opts.Sample
	start := 0
	if sample > 0 {
		start = int(s.hash(r.ID, "") % uint64(n))
	}
	// Reasons are tallied in a short list, cheaper than a map per host.
	var tally []reasonCount
	// Draws go to the larger hash of request and host, computed only on a
	// draw (bestTie is the best host's once known).
	best, bestScore, found := -1, math.Inf(-1), 0
	bestTie, tieKnown := uint64(0), false
	for k, i := 0, start; k < n; k, i = k+1, i+1 {
		if i == n {
			i = 0
		}
		h := &s.hosts[i]
		d.Looked++
		if why := feasible(h, r); why != Fits {
			tally = count(tally, why)
			continue
		}
		found++
		switch score := s.score(h, r); {
		case score > bestScore:
			best, bestScore, tieKnown = i, score, false
		case score == bestScore:
			if !tieKnown {
				bestTie, tieKnown = s.hash(r.ID, s.hosts[best].ID), true
			}
			if tie := s.hash(r.ID, h.ID); tie > bestTie {
				best, bestTie = i, tie
			}
		}
		if sample > 0 && found >= sample {
			break
		}
	}
	d.Host = best
	if len(tally) > 0 {
		d.Reasons = make(map[Reason]int, len(tally))
		for _, t := range tally {
			d.Reasons[t.reason] = t.n
		}
	}
	return d
}

// reasonCount is how many hosts failed for one reason.
type reasonCount struct {
	reason Reason
	n      int
}

// count adds one host to why's count.
func count(tally []reasonCount, why Reason) []reasonCount {
	for i := range tally {
		if tally[i].reason == why {
			tally[i].n++
			return tally
		}
	}
	return append(tally, reasonCount{why, 1})
}

// below reports whether some instance has a priority lower than prio.
func (s *Scheduler) below(prio int) bool {
	for p := range s.prios {
		if p < prio {
			return true
		}
	}
	return false
}

// prepare notes on r what the filters need from the whole snapshot.
func (s *Scheduler) prepare(r *Request) {
	r.groupPlaced = r.Group != "" && s.groups[r.Group] > 0
}

// Commit records r on host i: its resources, its ports and a Placed entry.
func (s *Scheduler) Commit(i int, r *Request) {
	h := &s.hosts[i]
	p := Placed{ID: r.ID, Priority: r.Priority, Resources: r.Resources, Group: r.Group, HostPorts: slices.Clone(r.HostPorts)}
	k, _ := slices.BinarySearchFunc(h.Placed, p, victimOrder)
	h.Placed = slices.Insert(h.Placed, k, p)
	h.Used = h.Used.Add(p.Resources)
	s.note(h, p, 1)
	s.free.set(i, h, true)
}

// Release removes the instance r.ID from host i with the resources, ports
// and group Commit recorded. An instance not in Placed gives back
// r.Resources only.
func (s *Scheduler) Release(i int, r *Request) {
	h := &s.hosts[i]
	k := slices.IndexFunc(h.Placed, func(p Placed) bool { return p.ID == r.ID })
	if k < 0 {
		h.Used = h.Used.Sub(r.Resources)
	} else {
		p := h.Placed[k]
		h.Placed = slices.Delete(h.Placed, k, k+1)
		h.Used = h.Used.Sub(p.Resources)
		s.note(h, p, -1)
	}
	s.free.set(i, h, true)
}

// note adds (by = 1) or removes (by = -1) p, already added to or removed
// from h.Placed, in the host's and the scheduler's tallies: groups,
// priorities and ports.
func (s *Scheduler) note(h *Host, p Placed, by int) {
	if p.Group != "" {
		if h.groups == nil {
			h.groups = map[string]int{}
		}
		if h.groups[p.Group] += by; h.groups[p.Group] <= 0 {
			delete(h.groups, p.Group)
		}
		if s.groups[p.Group] += by; s.groups[p.Group] <= 0 {
			delete(s.groups, p.Group)
		}
	}
	h.tally(p, by)
	if s.prios[p.Priority] += by; s.prios[p.Priority] <= 0 {
		delete(s.prios, p.Priority)
	}
	for _, port := range p.HostPorts {
		if by > 0 {
			if h.Ports == nil {
				h.Ports = map[int]bool{}
			}
			h.Ports[port] = true
		} else {
			delete(h.Ports, port)
		}
	}
}

// most is the most of each resource in a and b.
func most(a, b Resources) Resources {
	return Resources{max(a.MilliCPU, b.MilliCPU), max(a.MemoryMiB, b.MemoryMiB), max(a.DiskMiB, b.DiskMiB), max(a.NetworkMbps, b.NetworkMbps)}
}

// score weighs a host that fits: the strategy's term in [0,1], plus the
// group term in [0,1] times GroupWeight.
func (s *Scheduler) score(h *Host, r *Request) float64 {
	free := s.cpuW*freeShare(h.Allocatable.MilliCPU, h.Used.MilliCPU, r.Resources.MilliCPU) +
		s.memW*freeShare(h.Allocatable.MemoryMiB, h.Used.MemoryMiB, r.Resources.MemoryMiB)
	score := free
	if s.opts.Strategy == Binpack {
		score = 1 - free
	}
	if r.Group != "" && s.opts.GroupWeight > 0 {
		score += s.opts.GroupWeight / float64(1+h.groups[r.Group])
	}
	return score
}

// freeShare is the share of alloc left once want is added to used.
func freeShare(alloc, used, want int64) float64 {
	if alloc <= 0 {
		return 0
	}
	return float64(alloc-used-want) / float64(alloc)
}

// hash mixes the seed with a and b (FNV-1a), for ties and sampling: the
// same seed gives the same placements in every run.
func (s *Scheduler) hash(a, b string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037) ^ s.opts.Seed
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return h
}
