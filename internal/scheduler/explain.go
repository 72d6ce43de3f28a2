package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Finding is one reason hosts do not fit, with how many and a detail.
type Finding struct {
	Reason Reason
	Hosts  int
	Detail string // e.g. "needs 4096 MiB, best host has 3000", "zone=b", "cordoned"
}

// Explanation says why a request fits nowhere, or how many hosts fit.
type Explanation struct {
	Hosts    int       // hosts looked at (all)
	Fit      int       // hosts that fit
	Findings []Finding // most hosts first, then by reason
	// Preemption is what evicting lower-priority instances would do; Host -1 when nothing would.
	Preemption Preemption
}

// Explain looks at every host for r and says why each does not fit.
//
// Hosts not ready are told apart by their state, hosts whose labels do not
// match by the first term they fail; a resource finding gives what r needs
// and the most any of its hosts has free. Preemption is computed only when
// no host fits and r has a priority above 0.
func (s *Scheduler) Explain(r *Request) Explanation {
	s.prepare(r)
	e := Explanation{Hosts: len(s.hosts), Preemption: Preemption{Host: -1}}
	type group struct {
		reason Reason
		detail string
	}
	counts := map[group]int{}
	best := map[Reason]int64{} // most free of the resource among the hosts short of it
	for i := range s.hosts {
		h := &s.hosts[i]
		why := feasible(h, r)
		g := group{reason: why}
		switch why {
		case Fits:
			e.Fit++
			continue
		case NotReady:
			g.detail = h.Unready
		case LabelsMismatch:
			g.detail = r.Selector[firstMiss(h.Labels, r.Selector)].String()
		case NoCPU, NoMemory, NoDisk, NoNetwork:
			free := max(amount(why, h.Allocatable.Sub(h.Used)), 0)
			if have, ok := best[why]; !ok || free > have {
				best[why] = free
			}
		}
		counts[g]++
	}
	for g, n := range counts {
		f := Finding{Reason: g.reason, Hosts: n, Detail: g.detail}
		if have, ok := best[g.reason]; ok {
			f.Detail = needs(g.reason, amount(g.reason, r.Resources), have)
		}
		e.Findings = append(e.Findings, f)
	}
	slices.SortFunc(e.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Hosts, a.Hosts), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Detail, b.Detail))
	})
	if e.Fit == 0 && r.Priority > 0 {
		e.Preemption = s.Preempt(r)
	}
	return e
}

// amount is the part of res a resource reason is about.
func amount(why Reason, res Resources) int64 {
	switch why {
	case NoCPU:
		return res.MilliCPU
	case NoMemory:
		return res.MemoryMiB
	case NoDisk:
		return res.DiskMiB
	}
	return res.NetworkMbps
}

// needs says what a request needs of a resource and the most a host has.
func needs(why Reason, want, have int64) string {
	switch why {
	case NoCPU:
		return fmt.Sprintf("needs %s cpu, best host has %s", cores(want), cores(have))
	case NoNetwork:
		return fmt.Sprintf("needs %d Mbps, best host has %d", want, have)
	}
	return fmt.Sprintf("needs %d MiB, best host has %d", want, have)
}

// cores writes millicores as cores, with up to 3 decimals.
func cores(milli int64) string { return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64) }

// String is the one-line summary, e.g. "10 hosts: 6 insufficient memory (needs 4096 MiB, best host has 3000), 3 labels not matched (zone=b), 1 not ready (cordoned)".
func (e Explanation) String() string {
	var b strings.Builder
	if e.Hosts == 1 {
		b.WriteString("1 host")
	} else {
		fmt.Fprintf(&b, "%d hosts", e.Hosts)
	}
	sep := ": "
	if e.Fit > 0 {
		fmt.Fprintf(&b, "%s%d fit", sep, e.Fit)
		sep = ", "
	}
	for _, f := range e.Findings {
		fmt.Fprintf(&b, "%s%d %s", sep, f.Hosts, f.Reason)
		if f.Detail != "" {
			fmt.Fprintf(&b, " (%s)", f.Detail)
		}
		sep = ", "
	}
	return b.String()
}
