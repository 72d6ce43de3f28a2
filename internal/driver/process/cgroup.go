package process

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

// cgroupParent holds every instance's cgroup, named after the instance ID.
const cgroupParent = "/nimbus"

// cpuPeriod is the cfs period in microseconds; a MilliCPU of m allows
// m*100 microseconds of cpu time per period.
const cpuPeriod = 100_000

// minCPUQuota is the smallest cfs quota the kernel accepts, in
// microseconds.
const minCPUQuota = 1000

// cpuQuota is the cfs quota, per cpuPeriod, of milliCPU thousandths of a
// core. The kernel refuses quotas under a millisecond, so 1 to 9
// milli-cores get the quota of 10.
func cpuQuota(milliCPU int64) int64 {
	return max(milliCPU*cpuPeriod/1000, minCPUQuota)
}

// cgroup is one instance's cgroup, v1 or v2.
type cgroup interface {
	// add moves a process into the cgroup.
	add(pid int) error
	// pids lists the processes in the cgroup.
	pids() ([]int, error)
	// oomKills counts the processes the kernel killed for exceeding the
	// memory limit.
	oomKills() (uint64, error)
	// usage returns cumulative cpu time and current memory use without
	// page cache.
	usage() (cpuNanos, memBytes uint64, err error)
	// remove deletes the (empty) cgroup.
	remove() error
}

// limits are the resource limits of one instance.
type limits struct {
	milliCPU  int64
	memoryMiB int64
	pids      int64
}

// cgroupRef locates an instance's cgroup; Version 0 means it has none.
type cgroupRef struct {
	Version int `json:"version,omitempty"`
	// Root is the cgroup v2 mount point (v1 finds its hierarchies itself).
	Root string `json:"root,omitempty"`
	// Path is the cgroup's path inside the hierarchy, e.g. /nimbus/<id>.
	Path string `json:"path,omitempty"`
}

// cgroupSystem is the cgroup setup the driver found on this host.
type cgroupSystem struct {
	version int
	root    string // v2 mount point
	reason  string // why there are no cgroups (version 0)
}

// detectCgroups picks the hierarchy that offers the cpu and memory
// controllers (v2 when the unified hierarchy has them, else v1) and checks
// it is writable by creating the parent cgroup.
func detectCgroups() cgroupSystem {
	mode := cgroups.Mode()
	unified := ""
	switch mode {
	case cgroups.Unified:
		unified = "/sys/fs/cgroup"
	case cgroups.Hybrid:
		unified = "/sys/fs/cgroup/unified"
	}
	if unified != "" && hasControllers(unified, "cpu", "memory") {
		if err := prepareV2(unified); err != nil {
			return cgroupSystem{reason: fmt.Sprintf("cgroup v2 at %s not writable: %v", unified, err)}
		}
		return cgroupSystem{version: 2, root: unified}
	}
	if mode == cgroups.Legacy || mode == cgroups.Hybrid {
		if err := prepareV1(); err != nil {
			return cgroupSystem{reason: fmt.Sprintf("cgroup v1 not usable: %v", err)}
		}
		return cgroupSystem{version: 1}
	}
	return cgroupSystem{reason: "no cgroup hierarchy offers the cpu and memory controllers"}
}

// ref locates the cgroup of instance id; the zero ref without cgroups.
func (s cgroupSystem) ref(id string) cgroupRef {
	if s.version == 0 {
		return cgroupRef{}
	}
	return cgroupRef{Version: s.version, Root: s.root, Path: path.Join(cgroupParent, id)}
}

// create makes the cgroup of instance id with the given limits.
func (s cgroupSystem) create(id string, l limits) (cgroupRef, cgroup, error) {
	ref := s.ref(id)
	var (
		cg  cgroup
		err error
	)
	switch s.version {
	case 1:
		cg, err = createV1(ref.Path, l)
	case 2:
		cg, err = createV2(filepath.Join(s.root, ref.Path), l)
	default:
		return cgroupRef{}, nil, nil
	}
	if err != nil {
		return cgroupRef{}, nil, fmt.Errorf("create cgroup %s: %w", ref.Path, err)
	}
	return ref, cg, nil
}

// loadCgroup opens an existing cgroup; it returns nil for the zero ref.
func loadCgroup(ref cgroupRef) (cgroup, error) {
	switch ref.Version {
	case 0:
		return nil, nil
	case 1:
		return loadV1(ref.Path)
	case 2:
		dir := filepath.Join(ref.Root, ref.Path)
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		return cgroupV2{dir: dir}, nil
	}
	return nil, fmt.Errorf("unknown cgroup version %d", ref.Version)
}

// signalTree sends sig to every process of a workload: the members of its
// cgroup or, without one, the workload's process group (the workload leads
// its own session).
func signalTree(cg cgroup, pid int, sig unix.Signal) {
	if cg != nil {
		if pids, err := cg.pids(); err == nil {
			for _, p := range pids {
				_ = unix.Kill(p, sig)
			}
			return
		}
	}
	if pid > 0 {
		_ = unix.Kill(-pid, sig)
	}
}

// writable checks that cgroups can be created in dir.
func writable(dir string) error {
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// hasControllers reports whether a cgroup v2 directory offers all the
// named controllers.
func hasControllers(dir string, names ...string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	have := strings.Fields(string(data))
	for _, n := range names {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

// readPids parses a cgroup.procs file.
func readPids(file string) ([]int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var pids []int
	for f := range strings.FieldsSeq(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// readKeyed reads the value of key from a flat keyed file ("key value"
// lines: memory.stat, memory.events, cpu.stat).
func readKeyed(file, key string) (uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %q", file, key)
}
