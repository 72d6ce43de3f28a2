package scheduler

import (
	"cmp"
	"slices"
)

// Preemption is what evicting lower-priority instances on one host would do for a request.
type Preemption struct {
	Host    int      // index of the host, -1 when no eviction would make room
	Victims []Placed // the instances to evict, all of priority strictly lower than the request's
	Freed   Resources
}

// Preempt finds, for a request no host fits, the one host where evicting the smallest set of instances of strictly lower priority makes it fit, the cheapest such set over all hosts. It changes nothing: the caller Releases the victims and Commits r.
//
// Only hosts that pass every filter but the resource ones count. On each,
// victims are taken lowest priority first, then largest, skipping those
// that free nothing still missing and, under a SameHost policy, members of
// r's group; then each victim, highest priority first, is spared if the
// others make room without it (kube-scheduler's reprieve). Hosts compare
// by fewer victims, then a lower highest victim priority, then a lower sum
// of victim priorities, then less freed (cpu and memory, a core as 4 GiB),
// then the seeded hash. Hosts that fit r already are left out: Place finds
// those.
func (s *Scheduler) Preempt(r *Request) Preemption {
	best := Preemption{Host: -1}
	if !s.below(r.Priority) {
		return best
	}
	s.prepare(r)
	var (
		bestCost cost
		picked   []int
	)
	// cheaper reports whether c beats the best so far on host h, hashing
	// only on a draw.
	cheaper := func(c cost, h *Host) bool {
		if best.Host < 0 {
			return true
		}
		if k := c.key(bestCost); k != 0 {
			return k < 0
		}
		return s.hash(r.ID, h.ID) > bestCost.tie
	}
	for i := range s.hosts {
		h := &s.hosts[i]
		if h.Unready != "" || len(h.Placed) == 0 || h.firstPrio >= r.Priority {
			continue
		}
		d := lack(h, r.Resources)
		if d.reason() == Fits {
			continue
		}
		// When the first candidate alone makes room, pick would choose it:
		// its cost needs nothing but what the host keeps beside Used.
		if covers(h.firstRes, d) && !kept(&h.Placed[0], r) {
			c := cost{victims: 1, top: h.firstPrio, sum: h.firstPrio, waste: size(h.firstRes)}
			if !cheaper(c, h) || placement(h, r) != Fits {
				continue
			}
			c.tie = s.hash(r.ID, h.ID)
			best, bestCost = Preemption{Host: i, Victims: []Placed{h.Placed[0]}, Freed: h.firstRes}, c
			continue
		}
		if best.Host >= 0 && bestCost.before(lowerBound(d, h.most, h.firstPrio)) {
			continue
		}
		all, largest := h.levels.below(r.Priority)
		if !covers(all, d) || best.Host >= 0 && bestCost.before(lowerBound(d, largest, h.firstPrio)) {
			continue
		}
		var freed Resources
		var ok bool
		picked, freed, ok = pick(h, r, d, picked)
		if !ok {
			continue
		}
		c := cost{victims: len(picked), top: h.Placed[picked[len(picked)-1]].Priority, waste: size(freed)}
		for _, k := range picked {
			c.sum += h.Placed[k].Priority
		}
		if !cheaper(c, h) || placement(h, r) != Fits {
			continue
		}
		c.tie = s.hash(r.ID, h.ID)
		best, bestCost = Preemption{Host: i, Victims: make([]Placed, len(picked)), Freed: freed}, c
		for j, k := range picked {
			best.Victims[j] = h.Placed[k]
		}
	}
	return best
}

// kept reports whether p may not be evicted for r: a member of r's group
// under a SameHost policy.
func kept(p *Placed, r *Request) bool {
	return r.Policy == SameHost && r.Group != "" && p.Group == r.Group
}

// pick chooses the victims on h that make up the lack d, as indexes into
// h.Placed, and what they free; ok is false when every candidate together
// is not enough.
func pick(h *Host, r *Request, d Resources, picked []int) (_ []int, freed Resources, ok bool) {
	picked = picked[:0]
	for k := range h.Placed {
		p := &h.Placed[k]
		if p.Priority >= r.Priority || covers(freed, d) {
			break
		}
		if kept(p, r) {
			continue
		}
		if helps(p.Resources, freed, d) {
			picked = append(picked, k)
			freed = freed.Add(p.Resources)
		}
	}
	if !covers(freed, d) {
		return picked, freed, false
	}
	for j := len(picked) - 1; j >= 0; j-- {
		if rest := freed.Sub(h.Placed[picked[j]].Resources); covers(rest, d) {
			freed = rest
			picked = slices.Delete(picked, j, j+1)
		}
	}
	return picked, freed, true
}

// covers reports whether freed makes up the lack d on every resource.
func covers(freed, d Resources) bool {
	return freed.MilliCPU >= d.MilliCPU && freed.MemoryMiB >= d.MemoryMiB &&
		freed.DiskMiB >= d.DiskMiB && freed.NetworkMbps >= d.NetworkMbps
}

// helps reports whether v frees some resource still missing once freed is.
func helps(v, freed, d Resources) bool {
	return (v.MilliCPU > 0 && freed.MilliCPU < d.MilliCPU) || (v.MemoryMiB > 0 && freed.MemoryMiB < d.MemoryMiB) ||
		(v.DiskMiB > 0 && freed.DiskMiB < d.DiskMiB) || (v.NetworkMbps > 0 && freed.NetworkMbps < d.NetworkMbps)
}

// cost ranks preemptions, cheapest first.
type cost struct {
	victims  int
	top, sum int   // highest and summed victim priority
	waste    int64 // size of what the victims free
	tie      uint64
}

// key compares the ranks before the tie-break.
func (c cost) key(o cost) int {
	return cmp.Or(cmp.Compare(c.victims, o.victims), cmp.Compare(c.top, o.top), cmp.Compare(c.sum, o.sum), cmp.Compare(c.waste, o.waste))
}

// before reports whether c is cheaper than every cost at least lb, whatever
// the tie-break.
func (c cost) before(lb cost) bool { return c.key(lb) < 0 }

// lowerBound is the cheapest any eviction could be for the lack d with
// candidates of at most most each and of priority at least low: one
// victim, two when no one candidate can be enough, freeing at least d.
func lowerBound(d, most Resources, low int) cost {
	n := 1
	if !covers(most, d) {
		n = 2
	}
	return cost{victims: n, top: low, sum: n * low, waste: size(Resources{MilliCPU: max(d.MilliCPU, 0), MemoryMiB: max(d.MemoryMiB, 0)})}
}

// level counts and sums the instances of one priority on a host, with the
// most of each resource any one of them has.
type level struct {
	prio      int
	n         int
	sum, most Resources
}

// levels are kept in increasing priority, without empty ones.
type levels []level

// tally adds (by = 1) or removes (by = -1) p, already added to or removed
// from Placed, in h's levels, most, firstPrio and firstRes.
func (h *Host) tally(p Placed, by int) {
	i, ok := slices.BinarySearchFunc(h.levels, p.Priority, func(l level, prio int) int { return cmp.Compare(l.prio, prio) })
	if !ok {
		h.levels = slices.Insert(h.levels, i, level{prio: p.Priority})
	}
	l := &h.levels[i]
	l.n += by
	switch {
	case l.n <= 0:
		h.levels = slices.Delete(h.levels, i, i+1)
	case by > 0:
		l.sum, l.most = l.sum.Add(p.Resources), most(l.most, p.Resources)
	default:
		l.sum, l.most = l.sum.Sub(p.Resources), Resources{}
		off := 0
		for _, o := range h.levels[:i] {
			off += o.n
		}
		for _, o := range h.Placed[off : off+l.n] {
			l.most = most(l.most, o.Resources)
		}
	}
	h.most = Resources{}
	for _, l := range h.levels {
		h.most = most(h.most, l.most)
	}
	h.firstPrio, h.firstRes = 0, Resources{}
	if len(h.Placed) > 0 {
		h.firstPrio, h.firstRes = h.Placed[0].Priority, h.Placed[0].Resources
	}
}

// below sums the instances of priority lower than prio, with the most of
// each resource any one of them has.
func (ls levels) below(prio int) (sum, largest Resources) {
	for _, l := range ls {
		if l.prio >= prio {
			break
		}
		sum, largest = sum.Add(l.sum), most(largest, l.most)
	}
	return sum, largest
}
