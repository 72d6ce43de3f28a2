package scheduler

import "slices"

// Reason says why a host does not fit a request.
type Reason string

// Reasons, one per filter.
const (
	Fits           Reason = ""
	NotReady       Reason = "not ready (down, cordoned or draining)"
	NoCPU          Reason = "insufficient cpu"
	NoMemory       Reason = "insufficient memory"
	NoDisk         Reason = "insufficient disk"
	NoNetwork      Reason = "insufficient network"
	NoDriver       Reason = "driver not offered"
	WrongArch      Reason = "architecture differs"
	LabelsMismatch Reason = "labels not matched"
	OtherZone      Reason = "other availability zone"
	GroupElsewhere Reason = "instance group is on another host"
	GroupHere      Reason = "instance group already on the host"
	Isolated       Reason = "reserved for other tenants or images"
	// NoRoom counts every host when none has the cpu or the memory asked.
	NoRoom Reason = "no host has that much cpu or memory free"
)

// feasible runs the filters, cheapest first, and returns the first reason
// the host does not fit, or Fits.
func feasible(h *Host, r *Request) Reason {
	switch {
	case !h.Ready:
		return NotReady
	case h.Used.MilliCPU+r.Resources.MilliCPU > h.Allocatable.MilliCPU:
		return NoCPU
	case h.Used.MemoryMiB+r.Resources.MemoryMiB > h.Allocatable.MemoryMiB:
		return NoMemory
	case r.Resources.DiskMiB > 0 && h.Used.DiskMiB+r.Resources.DiskMiB > h.Allocatable.DiskMiB:
		return NoDisk
	case r.Resources.NetworkMbps > 0 && h.Used.NetworkMbps+r.Resources.NetworkMbps > h.Allocatable.NetworkMbps:
		return NoNetwork
	case r.Driver != "" && !slices.Contains(h.Drivers, r.Driver):
		return NoDriver
	case r.Arch != "" && h.Arch != r.Arch:
		return WrongArch
	case r.Zone != "" && h.Zone != r.Zone:
		return OtherZone
	case !matches(h.Labels, r.Selector):
		return LabelsMismatch
	case !groupFits(h, r):
		if r.Policy == SameHost {
			return GroupElsewhere
		}
		return GroupHere
	case !isolationFits(h, r):
		return Isolated
	}
	return Fits
}

// groupFits applies the request's group policy. An affinity group with no
// member placed yet may start anywhere.
func groupFits(h *Host, r *Request) bool {
	if r.Group == "" {
		return true
	}
	switch r.Policy {
	case SameHost:
		return h.groups[r.Group] > 0 || !r.groupPlaced
	case DifferentHost:
		return h.groups[r.Group] == 0
	}
	return true
}

// isolationFits keeps hosts reserved for tenants or images to those.
func isolationFits(h *Host, r *Request) bool {
	if len(h.IsolatedTenants) > 0 && !slices.Contains(h.IsolatedTenants, r.Tenant) {
		return false
	}
	return len(h.IsolatedImages) == 0 || slices.Contains(h.IsolatedImages, r.Image)
}

// Op is the operator of a label selector term.
type Op int

// Selector operators.
const (
	Equals Op = iota
	NotEquals
	In
	NotIn
	Exists
	NotExists
)

// Term is one label selector term; a selector ANDs its terms.
type Term struct {
	Key    string
	Op     Op
	Values []string // one for Equals and NotEquals, any number for In and NotIn
}

// matches reports whether labels satisfy every term.
func matches(labels map[string]string, terms []Term) bool {
	for _, t := range terms {
		v, ok := labels[t.Key]
		var hold bool
		switch t.Op {
		case Equals, In:
			hold = ok && slices.Contains(t.Values, v)
		case NotEquals, NotIn:
			hold = !ok || !slices.Contains(t.Values, v)
		case Exists:
			hold = ok
		case NotExists:
			hold = !ok
		}
		if !hold {
			return false
		}
	}
	return true
}
