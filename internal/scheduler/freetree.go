package scheduler

// freeTree keeps, over the hosts, the most free cpu and the most free
// memory of any ready host, in a segment tree: a request larger than
// either is refused in O(1) instead of a pass over every host, which is
// what a full cluster costs otherwise.
type freeTree struct {
	n   int
	cpu []int64 // max free cpu per node; leaves at [n, 2n)
	mem []int64
}

func newFreeTree(hosts []Host) *freeTree {
	t := &freeTree{n: len(hosts), cpu: make([]int64, 2*len(hosts)), mem: make([]int64, 2*len(hosts))}
	for i := range hosts {
		t.set(i, &hosts[i], false)
	}
	for i := t.n - 1; i > 0; i-- {
		t.cpu[i], t.mem[i] = max(t.cpu[2*i], t.cpu[2*i+1]), max(t.mem[2*i], t.mem[2*i+1])
	}
	return t
}

// set records host i's free resources and, when up, updates the path to
// the root.
func (t *freeTree) set(i int, h *Host, up bool) {
	var cpu, mem int64 = -1, -1
	if h.Unready == "" {
		free := h.Allocatable.Sub(h.Used)
		cpu, mem = free.MilliCPU, free.MemoryMiB
	}
	i += t.n
	t.cpu[i], t.mem[i] = cpu, mem
	for up && i > 1 {
		i /= 2
		t.cpu[i], t.mem[i] = max(t.cpu[2*i], t.cpu[2*i+1]), max(t.mem[2*i], t.mem[2*i+1])
	}
}

// mayFit reports whether some host has the cpu and, maybe another, the
// memory r needs.
func (t *freeTree) mayFit(r Resources) bool {
	if t.n == 0 {
		return false
	}
	return t.cpu[1] >= r.MilliCPU && t.mem[1] >= r.MemoryMiB
}
