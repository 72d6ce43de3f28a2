package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroupV2 is an instance's cgroup in the unified hierarchy. It is written
// directly rather than through containerd's cgroup2 package, whose eBPF
// dependency needs a golang.org/x/exp version the module proxy refuses.
type cgroupV2 struct {
	dir string
}

// v2Controllers are the controllers the driver enables for its cgroups.
var v2Controllers = []string{"cpu", "memory", "pids"}

// prepareV2 creates the parent cgroup and delegates the controllers to
// instance cgroups below it.
func prepareV2(root string) error {
	parent := filepath.Join(root, cgroupParent)
	if err := enableControllers(root); err != nil {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if err := writable(parent); err != nil {
		return err
	}
	return enableControllers(parent)
}

// enableControllers turns on, for the children of dir, those of
// v2Controllers that dir offers.
func enableControllers(dir string) error {
	var on []string
	for _, c := range v2Controllers {
		if hasControllers(dir, c) {
			on = append(on, "+"+c)
		}
	}
	if len(on) == 0 {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(on, " ")), 0)
}

func createV2(dir string, l limits) (cgroup, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := cgroupV2{dir: dir}
	var settings [][2]string
	if l.milliCPU > 0 {
		settings = append(settings, [2]string{"cpu.max", fmt.Sprintf("%d %d", cpuQuota(l.milliCPU), cpuPeriod)})
	}
	if l.memoryMiB > 0 {
		settings = append(settings, [2]string{"memory.max", strconv.FormatInt(l.memoryMiB<<20, 10)})
		if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
			settings = append(settings, [2]string{"memory.swap.max", "0"})
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); err == nil && l.pids > 0 {
		settings = append(settings, [2]string{"pids.max", strconv.FormatInt(l.pids, 10)})
	}
	for _, s := range settings {
		if err := os.WriteFile(filepath.Join(dir, s[0]), []byte(s[1]), 0); err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("set %s: %w", s[0], err)
		}
	}
	return c, nil
}

func (c cgroupV2) add(pid int) error {
	return os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

func (c cgroupV2) pids() ([]int, error) {
	return readPids(filepath.Join(c.dir, "cgroup.procs"))
}

func (c cgroupV2) oomKills() (uint64, error) {
	return readKeyed(filepath.Join(c.dir, "memory.events"), "oom_kill")
}

func (c cgroupV2) usage() (uint64, uint64, error) {
	usec, err := readKeyed(filepath.Join(c.dir, "cpu.stat"), "usage_usec")
	if err != nil {
		return 0, 0, err
	}
	data, err := os.ReadFile(filepath.Join(c.dir, "memory.current"))
	if err != nil {
		return 0, 0, err
	}
	mem, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse memory.current: %w", err)
	}
	if inactive, err := readKeyed(filepath.Join(c.dir, "memory.stat"), "inactive_file"); err == nil && inactive < mem {
		mem -= inactive
	}
	return usec * 1000, mem, nil
}

// remove deletes the cgroup, retrying while the kernel still counts
// exiting processes in it.
func (c cgroupV2) remove() error {
	var err error
	for range 20 {
		if err = os.Remove(c.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
