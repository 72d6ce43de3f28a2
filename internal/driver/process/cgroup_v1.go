package process

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupV1 is an instance's cgroup in the v1 cpu, cpuacct, memory and pids
// hierarchies.
type cgroupV1 struct {
	cg cgroup1.Cgroup
}

// v1Root returns the directory holding the v1 hierarchies (usually
// /sys/fs/cgroup), found through the memory hierarchy.
func v1Root() (string, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return "", err
	}
	for _, s := range all {
		if p, ok := s.(interface{ Path(string) string }); ok && s.Name() == cgroup1.Memory {
			return filepath.Dir(p.Path("/")), nil
		}
	}
	return "", errors.New("no v1 memory hierarchy")
}

// v1Subsystems is the hierarchy the driver uses: only the controllers it
// sets limits in or reads from. It fails without cpu and memory.
func v1Subsystems() ([]cgroup1.Subsystem, error) {
	root, err := v1Root()
	if err != nil {
		return nil, err
	}
	var out []cgroup1.Subsystem
	for _, s := range []interface {
		cgroup1.Subsystem
		Path(string) string
	}{
		cgroup1.NewCpu(root),
		cgroup1.NewCpuacct(root),
		cgroup1.NewMemory(root, cgroup1.OptionalSwap()),
		cgroup1.NewPids(root),
	} {
		if _, err := os.Stat(s.Path("/")); err == nil {
			out = append(out, s)
		} else if s.Name() == cgroup1.Cpu || s.Name() == cgroup1.Memory {
			return nil, err
		}
	}
	return out, nil
}

// prepareV1 creates the parent cgroup in every hierarchy used and checks
// that instance cgroups can be made below it.
func prepareV1() error {
	if _, err := cgroup1.New(cgroup1.StaticPath(cgroupParent), &specs.LinuxResources{}, cgroup1.WithHierarchy(v1Subsystems)); err != nil {
		return err
	}
	subs, err := v1Subsystems()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if p, ok := s.(interface{ Path(string) string }); ok {
			if err := writable(p.Path(cgroupParent)); err != nil {
				return err
			}
		}
	}
	return nil
}

func createV1(path string, l limits) (cgroup, error) {
	res := &specs.LinuxResources{}
	if l.milliCPU > 0 {
		quota, period := cpuQuota(l.milliCPU), uint64(cpuPeriod)
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if l.memoryMiB > 0 {
		limit, swappiness := l.memoryMiB<<20, uint64(0)
		res.Memory = &specs.LinuxMemory{Limit: &limit, Swappiness: &swappiness}
		// With swap accounting, memory plus swap gets the same limit so
		// the OOM killer acts instead of swapping.
		if root, err := v1Root(); err == nil {
			if _, err := os.Stat(filepath.Join(root, "memory", "memory.memsw.limit_in_bytes")); err == nil {
				res.Memory.Swap = &limit
			}
		}
	}
	if l.pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &l.pids}
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(path), res, cgroup1.WithHierarchy(v1Subsystems))
	if err != nil {
		return nil, err
	}
	return cgroupV1{cg: cg}, nil
}

func loadV1(path string) (cgroup, error) {
	cg, err := cgroup1.Load(cgroup1.StaticPath(path), cgroup1.WithHierarchy(v1Subsystems))
	if err != nil {
		return nil, err
	}
	return cgroupV1{cg: cg}, nil
}

func (c cgroupV1) add(pid int) error {
	return c.cg.AddProc(uint64(pid))
}

func (c cgroupV1) pids() ([]int, error) {
	procs, err := c.cg.Processes(cgroup1.Memory, true)
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.Pid
	}
	return pids, nil
}

func (c cgroupV1) oomKills() (uint64, error) {
	m, err := c.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return 0, err
	}
	if m.MemoryOomControl == nil {
		return 0, errors.New("no memory.oom_control")
	}
	return m.MemoryOomControl.OomKill, nil
}

func (c cgroupV1) usage() (uint64, uint64, error) {
	m, err := c.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return 0, 0, err
	}
	var cpu, mem uint64
	if m.CPU != nil && m.CPU.Usage != nil {
		cpu = m.CPU.Usage.Total
	}
	if m.Memory != nil && m.Memory.Usage != nil {
		mem = m.Memory.Usage.Usage
		if m.Memory.TotalInactiveFile < mem {
			mem -= m.Memory.TotalInactiveFile
		}
	}
	return cpu, mem, nil
}

func (c cgroupV1) remove() error {
	return c.cg.Delete()
}
