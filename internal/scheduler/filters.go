package scheduler

import "slices"

// Reason says why a host does not fit a request.
type Reason string

// Reasons, one per filter.
const (
	Fits           Reason = ""
	NotReady       Reason = "not ready"
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
	PortTaken      Reason = "host port already in use"
	// NoRoom counts every host when none has the cpu or the memory asked.
	NoRoom Reason = "no host has that much cpu or memory free"
)

// feasible runs the filters, cheapest first, and returns the first reason
// the host does not fit, or Fits. Its resource checks are lack's, written
// out because this runs for every host a request looks at.
func feasible(h *Host, r *Request) Reason {
	switch {
	case h.Unready != "":
		return NotReady
	case h.Used.MilliCPU+r.Resources.MilliCPU > h.Allocatable.MilliCPU:
		return NoCPU
	case h.Used.MemoryMiB+r.Resources.MemoryMiB > h.Allocatable.MemoryMiB:
		return NoMemory
	case r.Resources.DiskMiB > 0 && h.Used.DiskMiB+r.Resources.DiskMiB > h.Allocatable.DiskMiB:
		return NoDisk
	case r.Resources.NetworkMbps > 0 && h.Used.NetworkMbps+r.Resources.NetworkMbps > h.Allocatable.NetworkMbps:
		return NoNetwork
	}
	return placement(h, r)
}

// lack is what h lacks for want, per resource: positive where it falls
// short (feasible's resource checks fail exactly when one is). Disk and
// network count only when want asks for them.
func lack(h *Host, want Resources) Resources {
	d := h.Used.Add(want).Sub(h.Allocatable)
	if want.DiskMiB <= 0 {
		d.DiskMiB = 0
	}
	if want.NetworkMbps <= 0 {
		d.NetworkMbps = 0
	}
	return d
}

// reason names the first resource a lack falls short of, or Fits.
func (d Resources) reason() Reason {
	switch {
	case d.MilliCPU > 0:
		return NoCPU
	case d.MemoryMiB > 0:
		return NoMemory
	case d.DiskMiB > 0:
		return NoDisk
	case d.NetworkMbps > 0:
		return NoNetwork
	}
	return Fits
}

// placement runs the filters that evicting instances cannot change.
func placement(h *Host, r *Request) Reason {
	switch {
	case r.Driver != "" && !slices.Contains(h.Drivers, r.Driver):
		return NoDriver
	case r.Arch != "" && h.Arch != r.Arch:
		return WrongArch
	case r.Zone != "" && h.Zone != r.Zone:
		return OtherZone
	case firstMiss(h.Labels, r.Selector) >= 0:
		return LabelsMismatch
	case !groupFits(h, r):
		if r.Policy == SameHost {
			return GroupElsewhere
		}
		return GroupHere
	case !isolationFits(h, r):
		return Isolated
	case !portsFree(h, r):
		return PortTaken
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

// portsFree reports whether none of the request's host ports is in use.
func portsFree(h *Host, r *Request) bool {
	for _, p := range r.HostPorts {
		if h.Ports[p] {
			return false
		}
	}
	return true
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

// firstMiss returns the index of the first term labels do not satisfy, -1
// when they satisfy every term.
func firstMiss(labels map[string]string, terms []Term) int {
	for i, t := range terms {
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
			return i
		}
	}
	return -1
}
